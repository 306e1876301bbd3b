"""docker CLI + dockerd pushing and pulling through ecrpy, as a user does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS

from ..conftest import helper_path
from . import world
from .conftest import DockerCLI, User

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_docker")]


def _digest(output: str) -> str:
    found = re.search(r"[Dd]igest: (sha256:[0-9a-f]{64})", output)
    assert found, output
    return found.group(1)


def _publish(docker: DockerCLI, rootfs_tar: Path, image: str) -> None:
    """Put ``image`` in the registry and take it off the daemon."""
    docker.ok("import", str(rootfs_tar), image)
    docker.ok("push", image)
    docker.ok("rmi", image)


def _listed(user: User) -> set[str]:
    """The hosts ``docker-credential-ecrpy list`` names for this user (its keys are URLs)."""
    result = world.run([helper_path(), "list"], user.env)
    assert result.returncode == 0, world.shown(result)
    listing: dict[str, str] = json.loads(result.stdout)
    return {url.split("://", 1)[-1] for url in listing}


def test_push_then_pull_through_ecrpy_fetches_one_token(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    rootfs_tar: Path,
) -> None:
    image = f"{world.REGISTRY}/e2e/docker:1"
    manifest = "/v2/e2e/docker/manifests/1"
    docker.ok("import", str(rootfs_tar), image)

    before_push = ecr_registry.mark()
    push = docker.ok("push", image)
    before_pull = ecr_registry.mark()
    docker.ok("rmi", image)
    pull = docker.ok("pull", image)

    assert f"Downloaded newer image for {image}" in pull.stdout, world.shown(pull)
    assert _digest(pull.stdout) == _digest(push.stdout)
    docker.ok("image", "inspect", image)
    # The registry authenticated the push and the pull (it refuses requests without AWS's token).
    pushed = ecr_registry.accesses(before_push)
    pulled = ecr_registry.accesses(before_pull)
    assert world.Access("PUT", manifest, authorized=True) in pushed, pushed
    assert any(a.authorized and a.uri == manifest and a.method in ("GET", "HEAD") for a in pulled)
    # ecrpy answered each of docker's lookups, from one token for the whole sequence.
    gets = user.helper_runs("get")
    assert len(gets) >= 2, gets
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in gets), gets
    assert fake.count("GetAuthorizationToken") == 1
    # Nothing secret was written to the user's Docker config.
    assert world.stored_secrets(user.docker_config) == {}
    assert world.PASSWORD not in user.docker_config.read_text(encoding="utf-8")


def test_login_stores_nothing_and_logout_drops_the_cached_token(
    docker: DockerCLI, user: User, fake: FakeAWS
) -> None:
    login = docker("login", world.REGISTRY)  # no TTY: docker uses what ecrpy gives it

    assert login.returncode == 0, world.shown(login)
    assert "Login Succeeded" in login.stdout, world.shown(login)
    assert f"ecrpy: nothing stored for {world.REGISTRY}" in login.stderr, world.shown(login)
    assert [run.code for run in user.helper_runs("store")] == [0]
    assert world.stored_secrets(user.docker_config) == {}
    assert world.PASSWORD not in user.docker_config.read_text(encoding="utf-8")
    assert world.cached_tokens(user.cache_dir, world.REGISTRY), "login cached no token"
    assert world.REGISTRY in _listed(user)
    assert fake.count("GetAuthorizationToken") == 1

    logout = docker("logout", world.REGISTRY)

    assert logout.returncode == 0, world.shown(logout)
    assert f"Removing login credentials for {world.REGISTRY}" in logout.stdout
    erases = user.helper_runs("erase")
    assert erases, "docker logout never ran ecrpy erase"
    assert all(run.code == 0 for run in erases), erases
    assert world.cached_tokens(user.cache_dir, world.REGISTRY) == []
    assert world.REGISTRY not in _listed(user)
    assert world.stored_secrets(user.docker_config) == {}
    assert world.PASSWORD not in user.docker_config.read_text(encoding="utf-8")
    # The next login really asks ECR again: the token is gone, not just hidden.
    docker.ok("login", world.REGISTRY)
    assert fake.count("GetAuthorizationToken") == 2


def test_pull_fails_when_ecr_refuses_the_token(
    docker: DockerCLI, user: User, token_refused: str, rootfs_tar: Path
) -> None:
    # The image is in the registry (both hostnames lead there): only the token is missing.
    _publish(docker, rootfs_tar, f"{world.REGISTRY}/e2e/refused:1")
    image = f"{world.DENIED_REGISTRY}/e2e/refused:1"

    pull = docker("pull", image)

    assert pull.returncode != 0, world.shown(pull)
    assert docker("image", "inspect", image).returncode != 0
    refused = [run for run in user.helper_runs("get") if run.stdin == world.DENIED_REGISTRY]
    assert refused, user.helper_runs()
    assert all(run.code == 1 and run.stdout.startswith(token_refused) for run in refused), refused


def test_pull_shows_ecrpy_message_when_ecr_refuses_the_token(
    docker: DockerCLI, token_refused: str
) -> None:
    pull = docker("pull", f"{world.DENIED_REGISTRY}/e2e/refused:1")

    assert pull.returncode != 0, world.shown(pull)
    assert token_refused in pull.stdout + pull.stderr, world.shown(pull)


def test_non_ecr_registry_goes_anonymous_under_global_credsstore(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    plain_registry: world.Registry,
    rootfs_tar: Path,
) -> None:
    user.configure_docker({"credsStore": "ecrpy"})
    config = user.docker_config.read_text(encoding="utf-8")
    image = f"{world.PLAIN_REGISTRY}/e2e/plain:1"
    docker.ok("import", str(rootfs_tar), image)
    mark = plain_registry.mark()

    push = docker.ok("push", image)
    docker.ok("rmi", image)
    pull = docker.ok("pull", image)

    assert f"Downloaded newer image for {image}" in pull.stdout, world.shown(pull)
    assert _digest(pull.stdout) == _digest(push.stdout)
    assert "PUT /v2/e2e/plain/manifests/1" in plain_registry.requests_logged(mark)
    # ecrpy was asked, and answered the exact not-found line that lets docker go on anonymously.
    gets = user.helper_runs("get")
    assert gets, "docker never ran ecrpy"
    assert all(run.stdin == world.PLAIN_REGISTRY for run in gets), gets
    assert all(run.code == 1 and run.stdout == world.NOT_FOUND for run in gets), gets
    assert fake.count("GetAuthorizationToken") == 0
    assert user.docker_config.read_text(encoding="utf-8") == config
