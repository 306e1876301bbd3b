"""docker-compose 1.29 (Debian's) building, pushing and pulling a service image in ECR.

Compose 1.29 is Python on the Docker SDK: it reads ``credHelpers`` and runs the helper itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fakeaws.server import FakeAWS

from . import rounds, world
from .conftest import DockerCLI, User

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_compose")]

BASE = f"{world.REGISTRY}/e2e/compose-base:1"
SERVICE = f"{world.REGISTRY}/e2e/compose-app:1"


@pytest.fixture(scope="session")
def needs_compose() -> None:
    world.require(*world.COMPOSE)


def test_compose_build_push_and_pull_through_ecrpy(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    rootfs_tar: Path,
    tmp_path: Path,
) -> None:
    rounds.helpers_for(user, [world.REGISTRY])
    rounds.publish(docker, user, rootfs_tar, BASE)
    project = tmp_path / "project"
    rounds.build_context(project / "app", BASE, "docker-compose")
    (project / "docker-compose.yml").write_text(
        f'version: "3.8"\nservices:\n  app:\n    image: {SERVICE}\n    build: ./app\n'
    )
    compose = ["docker-compose", "--project-directory", str(project), "-p", "e2e"]
    compose += ["-f", str(project / "docker-compose.yml")]

    def run(*args: str) -> str:
        result = world.run([*compose, *args], docker.env)
        assert result.returncode == 0, world.shown(result)
        return result.stdout + result.stderr

    mark = ecr_registry.mark()

    def commands() -> None:
        run("build", "--pull", "app")
        run("push", "app")
        docker.ok("rmi", SERVICE, BASE)
        run("pull", "app")
        docker.ok("image", "inspect", SERVICE)
        docker.ok("rmi", SERVICE)

    rounds.cold_then_warm(user, fake, commands)

    seen = ecr_registry.accesses(mark)
    assert world.Access("PUT", "/v2/e2e/compose-app/manifests/1", authorized=True) in seen, seen
    for repo in ("compose-base", "compose-app"):
        assert ecr_registry.read(f"/v2/e2e/{repo}/manifests/1", mark), seen
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in user.helper_runs())
    assert world.stored_secrets(user.docker_config) == {}
