"""The newest Docker CLI (28.5, from Debian sid through .ci/sid-tools.sh) against the world's
dockerd: push and pull, ``docker login`` with no password, and ``DOCKER_AUTH_CONFIG``.

Since 28.0 ``docker login <host>`` first asks the credential store for what it has (``get``),
checks it with the daemon and then stores it again (``store``): with ecrpy that is a login with
no password asked, and nothing written. Since 28.3 the CLI also reads ``DOCKER_AUTH_CONFIG``,
a Docker config's ``auths`` object in a variable: the shape of ``docker-credential-ecrpy export``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS

from ..conftest import helper_path
from . import rounds, world
from .conftest import DockerCLI, User

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_docker")]


@pytest.fixture
def docker28(user: User, dockerd: world.Dockerd, ecr_registry: world.Registry) -> DockerCLI:
    program = world.sid_tool("docker")
    world.require(program)
    cli = DockerCLI(user, dockerd, program)
    version = cli.ok("version", "--format", "{{.Client.Version}}").stdout
    major, minor = (int(part) for part in version.split(".")[:2])
    assert (major, minor) >= (28, 3), version  # DOCKER_AUTH_CONFIG came with 28.3
    return cli


def test_push_then_pull_through_ecrpy(
    docker28: DockerCLI, user: User, fake: FakeAWS, ecr_registry: world.Registry, rootfs_tar: Path
) -> None:
    image = f"{world.REGISTRY}/e2e/docker28:1"
    docker28.ok("import", str(rootfs_tar), image)
    mark = ecr_registry.mark()

    def push_then_pull() -> None:
        docker28.ok("push", image)
        docker28.ok("rmi", image)
        pulled = docker28.ok("pull", image)
        assert f"Downloaded newer image for {image}" in pulled.stdout, world.shown(pulled)

    cold, warm = rounds.cold_then_warm(user, fake, push_then_pull)

    assert (cold.gets, warm.gets) == (2, 2), (cold, warm)  # one per push and per pull

    assert world.Access("PUT", "/v2/e2e/docker28/manifests/1", True) in ecr_registry.accesses(mark)
    assert ecr_registry.read("/v2/e2e/docker28/manifests/1", mark)
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in user.helper_runs())
    assert world.stored_secrets(user.docker_config) == {}


def test_login_asks_no_password_and_writes_nothing(
    docker28: DockerCLI, user: User, fake: FakeAWS
) -> None:
    config = user.docker_config.read_text(encoding="utf-8")
    login = docker28("login", world.REGISTRY)  # no TTY and no password: only what ecrpy gives

    assert login.returncode == 0, world.shown(login)
    assert "Login Succeeded" in login.stdout, world.shown(login)
    assert "Password" not in login.stdout + login.stderr, world.shown(login)
    actions = [(run.action, run.code) for run in user.helper_runs()]
    assert actions == [("get", 0), ("store", 0)], user.helper_runs()
    assert f"ecrpy: nothing stored for {world.REGISTRY}" in login.stderr, world.shown(login)
    # Docker's store for a helper notes the host in ``auths`` with no field (as 20.10 does):
    # no secret, and the user's own settings as they were.
    written = json.loads(user.docker_config.read_text(encoding="utf-8"))
    assert written == {**json.loads(config), "auths": {world.REGISTRY: {}}}, written
    assert fake.count("GetAuthorizationToken") == 1


def test_export_as_docker_auth_config_pulls_with_no_helper(
    docker28: DockerCLI, user: User, fake: FakeAWS, ecr_registry: world.Registry, rootfs_tar: Path
) -> None:
    image = f"{world.REGISTRY}/e2e/auth-config:1"
    rounds.publish(docker28, user, rootfs_tar, image)
    exported = world.run([helper_path(), "export", world.REGISTRY], user.env)
    assert exported.returncode == 0, world.shown(exported)
    user.configure_docker({})  # no credHelpers, no credsStore: nothing runs ecrpy
    mark, tokens = ecr_registry.mark(), fake.count("GetAuthorizationToken")

    refused = docker28("pull", image)
    docker28.env["DOCKER_AUTH_CONFIG"] = exported.stdout
    pulled = docker28("pull", image)

    assert refused.returncode != 0, world.shown(refused)
    assert pulled.returncode == 0, world.shown(pulled)
    assert f"Downloaded newer image for {image}" in pulled.stdout, world.shown(pulled)
    assert ecr_registry.read("/v2/e2e/auth-config/manifests/1", mark)
    assert user.helper_runs() == []
    assert fake.count("GetAuthorizationToken") == tokens
