"""The Go registry clients platform teams use with ECR, each running ecrpy itself.

crane, the oras CLI, cosign, notation, syft, trivy and docker buildx read ``credHelpers`` from
``~/.docker/config.json`` and exec ``docker-credential-ecrpy get`` (go-containerregistry's
``authn.DefaultKeychain``, oras-go's and notation's credentials store, docker/cli's config file).
crane, cosign, syft and trivy ask before the first request; oras and notation only after the
registry answers 401, which the test registry does for every request without AWS's password.

Each client runs three times for one user: cold (one token request), warm (none), and with an
empty Docker config (refused by the registry, ecrpy never run). The clients see no AWS setting
at all: given AWS credentials, trivy and cosign fetch an ECR token with their own SDK and never
run a helper. Only ecrpy has them (``go_user`` in conftest.py). The programs come from Debian
sid and PyPI through ``.ci/sid-tools.sh``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS

from . import rounds, world
from .conftest import DockerCLI, GoTool, User

pytestmark = pytest.mark.e2e

BASE = f"{world.REGISTRY}/e2e/go-base:1"
Attempt = Callable[[], subprocess.CompletedProcess[str]]


@pytest.fixture
def base(go_tool: Callable[[str], GoTool], go_user: User, tmp_path: Path) -> world.OciImage:
    """A tiny image in ECR (pushed by crane); then ecrpy's cache and the trace emptied so that
    what the test does next starts cold."""
    image = world.oci_layout(tmp_path / "layout")
    go_tool("crane").ok("push", str(image.layout), BASE)
    shutil.rmtree(go_user.cache_dir)
    go_user.trace.unlink()
    return image


def prove(
    user: User,
    fake: FakeAWS,
    registry: world.Registry,
    attempt: Attempt,
    succeeded: Callable[[subprocess.CompletedProcess[str]], object],
    gets: int,
) -> None:
    """Cold, warm, then with an empty Docker config: the client's work through ecrpy, counted.

    ``gets`` is how many times the client runs ``get`` for the work, cold and warm alike: the
    client's behaviour, pinned so that a change in it shows (docs/clients.md lists them)."""

    def work() -> None:
        result = attempt()
        assert result.returncode == 0, world.shown(result)
        succeeded(result)

    cold, warm = rounds.cold_then_warm(user, fake, work)
    assert (cold.gets, warm.gets) == (gets, gets), (cold, warm)
    runs = user.helper_runs()
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in runs), runs
    assert world.stored_secrets(user.docker_config) == {}

    user.configure_docker({})
    mark = registry.mark()
    refused = attempt()
    assert refused.returncode != 0, world.shown(refused)
    assert len(user.helper_runs()) == len(runs), "a helper ran with no credHelpers entry"
    assert any(not access.authorized for access in registry.accesses(mark)), world.shown(refused)


def both(*steps: Attempt) -> Attempt:
    """The steps in order, up to the first that fails; what the last one run gave."""

    def attempt() -> subprocess.CompletedProcess[str]:
        for step in steps:
            result = step()
            if result.returncode != 0:
                break
        return result

    return attempt


def test_crane_copies_from_ecr_to_another_registry(
    go_tool: Callable[[str], GoTool],
    go_user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    plain_registry: world.Registry,
    base: world.OciImage,
) -> None:
    crane = go_tool("crane")
    copy = f"{world.PLAIN_REGISTRY}/e2e/crane-copy:1"

    def copied(_: subprocess.CompletedProcess[str]) -> None:
        assert crane.ok("digest", copy).stdout.strip() == base.manifest_digest

    prove(go_user, fake, ecr_registry, lambda: crane("copy", BASE, copy), copied, gets=1)


def test_oras_pushes_then_pulls_a_file(
    go_tool: Callable[[str], GoTool],
    go_user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    tmp_path: Path,
) -> None:
    oras = go_tool("oras")
    artifact = f"{world.REGISTRY}/e2e/oras-cli:1"
    workdir, outdir = tmp_path / "artifact", tmp_path / "pulled"
    workdir.mkdir()
    notes = "an artifact pushed by the oras CLI through ecrpy\n"
    (workdir / "notes.txt").write_text(notes)
    push = lambda: oras("push", artifact, "notes.txt", cwd=workdir)  # noqa: E731
    pull = lambda: oras("pull", "--output", str(outdir), artifact)  # noqa: E731

    def pulled(_: subprocess.CompletedProcess[str]) -> None:
        assert (outdir / "notes.txt").read_text() == notes
        (outdir / "notes.txt").unlink()

    mark = ecr_registry.mark()
    prove(go_user, fake, ecr_registry, both(push, pull), pulled, gets=2)

    manifest = "/v2/e2e/oras-cli/manifests/1"
    assert world.Access("PUT", manifest, authorized=True) in ecr_registry.accesses(mark)
    assert ecr_registry.read(manifest, mark)


def test_cosign_tree_of_an_ecr_image(
    go_tool: Callable[[str], GoTool],
    go_user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    base: world.OciImage,
) -> None:
    cosign = go_tool("cosign")

    def listed(result: subprocess.CompletedProcess[str]) -> None:
        assert "No Supply Chain Security Related Artifacts" in result.stdout, world.shown(result)

    prove(go_user, fake, ecr_registry, lambda: cosign("tree", BASE), listed, gets=1)


def test_notation_lists_the_signatures_of_an_ecr_image(
    go_tool: Callable[[str], GoTool],
    go_user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    base: world.OciImage,
) -> None:
    notation = go_tool("notation")
    reference = f"{world.REGISTRY}/e2e/go-base@{base.manifest_digest}"

    def listed(result: subprocess.CompletedProcess[str]) -> None:
        assert "has no associated signature" in result.stdout, world.shown(result)

    prove(go_user, fake, ecr_registry, lambda: notation("ls", reference), listed, gets=1)


def test_syft_makes_the_sbom_of_an_ecr_image(
    go_tool: Callable[[str], GoTool],
    go_user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    base: world.OciImage,
) -> None:
    syft = go_tool("syft")

    def described(result: subprocess.CompletedProcess[str]) -> None:
        sbom = json.loads(result.stdout)
        assert sbom["source"]["metadata"]["manifestDigest"] == base.manifest_digest, sbom
        assert sbom["source"]["metadata"]["userInput"] == BASE

    scan = lambda: syft("scan", f"registry:{BASE}", "--output", "syft-json")  # noqa: E731
    prove(go_user, fake, ecr_registry, scan, described, gets=1)


def test_trivy_scans_an_ecr_image_offline(
    go_tool: Callable[[str], GoTool],
    go_user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    base: world.OciImage,
    tmp_path: Path,
) -> None:
    trivy = go_tool("trivy")
    offline = ["--image-src", "remote", "--skip-db-update", "--offline-scan"]
    argv = ["image", *offline, "--scanners", "secret", "--format", "json"]
    argv += ["--cache-dir", str(tmp_path / "trivy-cache"), BASE]

    def scanned(result: subprocess.CompletedProcess[str]) -> None:
        report = json.loads(result.stdout)
        assert report["ArtifactName"] == BASE, report
        digests = report["Metadata"]["RepoDigests"]
        assert digests == [f"{world.REGISTRY}/e2e/go-base@{base.manifest_digest}"], report
        shutil.rmtree(tmp_path / "trivy-cache")  # else warm would read its layer cache

    prove(go_user, fake, ecr_registry, lambda: trivy(*argv), scanned, gets=1)


def test_buildx_builds_from_an_ecr_base_and_pushes(
    go_user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    dockerd: world.Dockerd,
    base: world.OciImage,
    tmp_path: Path,
) -> None:
    """``docker buildx build`` (docker 28.5, buildx 0.29, the docker driver on the world's
    dockerd): BuildKit in the daemon asks the CLI over its session for the base's credentials,
    and the CLI runs ecrpy; the push goes through the same session."""
    docker_path, plugin = world.sid_tool("docker"), world.SID_PLUGINS / "docker-buildx"
    world.require(*world.DOCKER, docker_path, str(plugin))
    plugins = go_user.home / ".docker" / "cli-plugins"  # where a user installs a CLI plugin
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "docker-buildx").symlink_to(plugin)
    docker = DockerCLI(go_user, dockerd, docker_path)
    context = rounds.build_context(tmp_path / "context", BASE, "docker buildx")
    built = f"{world.REGISTRY}/e2e/buildx:1"
    argv = ["buildx", "build", "--pull", "--push", "--progress=plain", "--tag", built]

    def pushed(result: subprocess.CompletedProcess[str]) -> None:
        assert f"FROM {BASE}" in result.stderr, world.shown(result)

    mark = ecr_registry.mark()
    prove(go_user, fake, ecr_registry, lambda: docker(*argv, str(context)), pushed, gets=3)

    assert ecr_registry.read("/v2/e2e/go-base/manifests/1", mark)
    assert world.Access("PUT", "/v2/e2e/buildx/manifests/1", True) in ecr_registry.accesses(mark)
