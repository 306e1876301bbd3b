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
import tempfile
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


# -- clients that read an image in ECR: what each runs, and what its output must show -----------


def cosign_tree(image: world.OciImage, scratch: Path) -> list[str]:
    return ["tree", BASE]


def cosign_listed(result: subprocess.CompletedProcess[str], image: world.OciImage) -> bool:
    return "No Supply Chain Security Related Artifacts" in result.stdout


def notation_ls(image: world.OciImage, scratch: Path) -> list[str]:
    return ["ls", f"{world.REGISTRY}/e2e/go-base@{image.manifest_digest}"]


def notation_listed(result: subprocess.CompletedProcess[str], image: world.OciImage) -> bool:
    return "has no associated signature" in result.stdout


def syft_scan(image: world.OciImage, scratch: Path) -> list[str]:
    return ["scan", f"registry:{BASE}", "--output", "syft-json"]


def syft_described(result: subprocess.CompletedProcess[str], image: world.OciImage) -> bool:
    source = json.loads(result.stdout)["source"]["metadata"]
    return bool(source["manifestDigest"] == image.manifest_digest and source["userInput"] == BASE)


def trivy_image(image: world.OciImage, scratch: Path) -> list[str]:
    # A cache of its own per run (else warm would read its layer cache), no database to fetch.
    cache = tempfile.mkdtemp(prefix="trivy-cache-", dir=scratch)
    offline = ["--image-src", "remote", "--skip-db-update", "--offline-scan"]
    return [
        "image",
        *offline,
        "--scanners",
        "secret",
        "--format",
        "json",
        "--cache-dir",
        cache,
        BASE,
    ]


def trivy_scanned(result: subprocess.CompletedProcess[str], image: world.OciImage) -> bool:
    report = json.loads(result.stdout)
    digest = f"{world.REGISTRY}/e2e/go-base@{image.manifest_digest}"
    return bool(report["ArtifactName"] == BASE and report["Metadata"]["RepoDigests"] == [digest])


READERS = {  # client: (its arguments, what its output must show, gets per run)
    "cosign": (cosign_tree, cosign_listed, 1),
    "notation": (notation_ls, notation_listed, 1),
    "syft": (syft_scan, syft_described, 1),
    "trivy": (trivy_image, trivy_scanned, 1),
}


@pytest.mark.parametrize("program", list(READERS))
def test_a_client_reads_an_ecr_image(
    program: str,
    go_tool: Callable[[str], GoTool],
    go_user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    base: world.OciImage,
    tmp_path: Path,
) -> None:
    """cosign's tree, notation's signature list, syft's SBOM, trivy's offline secret scan."""
    client = go_tool(program)
    arguments, shows, gets = READERS[program]

    def read() -> subprocess.CompletedProcess[str]:
        return client(*arguments(base, tmp_path))

    def showed(result: subprocess.CompletedProcess[str]) -> None:
        assert shows(result, base), world.shown(result)

    prove(go_user, fake, ecr_registry, read, showed, gets=gets)


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


def test_trivy_with_aws_credentials_of_its_own_runs_no_helper(
    go_tool: Callable[[str], GoTool],
    go_user: User,
    user: User,
    fake: FakeAWS,
    base: world.OciImage,
    tmp_path: Path,
) -> None:
    """Why the clients above see no AWS setting, and what docs/clients.md tells trivy users:
    given AWS credentials, trivy asks ECR itself, and ecrpy's ``credHelpers`` entry is unused."""
    go_user.env.update({k: v for k, v in user.env.items() if k.startswith("AWS_")})
    trivy = go_tool("trivy")
    tokens = fake.count("GetAuthorizationToken")

    result = trivy(*trivy_image(base, tmp_path))

    assert result.returncode == 0, world.shown(result)
    assert trivy_scanned(result, base), world.shown(result)
    assert go_user.helper_runs() == []
    assert fake.count("GetAuthorizationToken") == tokens + 1  # trivy's own


def test_cosign_with_aws_credentials_but_no_docker_config_is_refused(
    go_tool: Callable[[str], GoTool],
    go_user: User,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    base: world.OciImage,
    tmp_path: Path,
) -> None:
    """cosign takes credentials from Docker's config alone (docs/clients.md): AWS keys in its
    environment do not get it a token."""
    go_user.env.update({k: v for k, v in user.env.items() if k.startswith("AWS_")})
    go_user.configure_docker({})
    mark, tokens = ecr_registry.mark(), fake.count("GetAuthorizationToken")

    result = go_tool("cosign")(*cosign_tree(base, tmp_path))

    assert result.returncode != 0, world.shown(result)
    assert fake.count("GetAuthorizationToken") == tokens
    assert any(not access.authorized for access in ecr_registry.accesses(mark))
