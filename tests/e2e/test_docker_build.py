"""``docker build`` from an ECR base image, with the classic builder and with BuildKit.

The classic builder (``DOCKER_BUILDKIT=0``) sends the daemon every credential the CLI can find
before the build starts: the CLI runs ``get`` once per ``credHelpers`` entry, whether the build
pulls from that registry or not. That count is Docker's behaviour; how many of those runs ask
ECR for a token is ecrpy's. BuildKit (Debian's docker 20.10 CLI has it built in) asks the CLI
over its session only for the registries the build pulls from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fakeaws.server import FakeAWS

from . import rounds, world
from .conftest import DockerCLI, User

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_docker")]

DEBIAN_DOCKER = "/usr/bin/docker"  # docker.io's CLI, 20.10: BuildKit without the buildx plugin
BASE = f"{world.REGISTRY}/e2e/build-base:1"


def other_registries(count: int) -> list[str]:
    """ECR registries of other accounts a user also has in ``credHelpers``."""
    return [f"{100000000000 + n:012d}.dkr.ecr.eu-west-1.amazonaws.com" for n in range(count)]


@pytest.fixture
def build_context(tmp_path: Path) -> Path:
    return rounds.build_context(tmp_path / "context", BASE, "docker build")


@pytest.fixture
def base_image(docker: DockerCLI, rootfs_tar: Path, user: User) -> str:
    rounds.publish(docker, user, rootfs_tar, BASE)
    return BASE


@pytest.mark.parametrize("others", [0, 9], ids=["1-entry", "10-entries"])
def test_classic_builder_pulls_an_ecr_base(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    base_image: str,
    build_context: Path,
    others: int,
) -> None:
    extra = other_registries(others)
    rounds.helpers_for(user, [world.REGISTRY, *extra])
    docker.env["DOCKER_BUILDKIT"] = "0"
    built = f"{world.REGISTRY}/e2e/classic-{others + 1}:1"
    mark = ecr_registry.mark()

    def build() -> None:
        result = docker.ok("build", "--pull", "--tag", built, str(build_context))
        assert f"Step 1/2 : FROM {base_image}" in result.stdout, world.shown(result)  # classic
        docker.ok("rmi", built, base_image)

    cold = rounds.measure("cold", user, fake, build)
    warm = rounds.measure("warm", user, fake, build)

    # Docker: one get per credHelpers entry, per build. ecrpy: at most one token request per
    # registry it was asked about (a token is per account and region; one request may serve
    # several), all of them cached for every later build.
    assert (cold.gets, warm.gets) == (others + 1, others + 1), (cold, warm)
    assert 1 <= cold.token_requests <= others + 1, cold
    assert warm.token_requests == 0, warm
    assert {run.stdin for run in user.helper_runs("get")} == {world.REGISTRY, *extra}
    assert all(run.code == 0 for run in user.helper_runs())
    assert ecr_registry.read("/v2/e2e/build-base/manifests/1", mark)
    assert world.stored_secrets(user.docker_config) == {}


def test_buildkit_asks_only_for_the_registry_it_pulls_from(
    dockerd: world.Dockerd,
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    base_image: str,
    build_context: Path,
) -> None:
    world.require(DEBIAN_DOCKER)
    rounds.helpers_for(user, [world.REGISTRY, *other_registries(9)])
    buildkit = DockerCLI(user, dockerd, DEBIAN_DOCKER)
    buildkit.env["DOCKER_BUILDKIT"] = "1"
    built = f"{world.REGISTRY}/e2e/buildkit:1"
    mark = ecr_registry.mark()

    def build() -> None:
        result = buildkit.ok(
            "build", "--pull", "--progress=plain", "--tag", built, str(build_context)
        )
        assert f"[1/2] FROM {base_image}" in result.stderr, world.shown(result)  # BuildKit's
        buildkit.ok("rmi", built)

    rounds.cold_then_warm(user, fake, build)

    assert {run.stdin for run in user.helper_runs("get")} == {world.REGISTRY}
    assert all(run.code == 0 for run in user.helper_runs())
    assert ecr_registry.read("/v2/e2e/build-base/manifests/1", mark)
    assert world.stored_secrets(user.docker_config) == {}
