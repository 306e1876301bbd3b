"""podman building ``FROM`` an ECR image, and ``podman login`` / ``logout`` against ecrpy."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakeaws.server import FakeAWS

from . import rounds, world
from .conftest import ContainersTool, User

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_podman")]


def test_podman_build_from_an_ecr_base_and_push(
    podman: ContainersTool,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    cert_dir: Path,
    rootfs_tar: Path,
    tmp_path: Path,
) -> None:
    base = f"{world.REGISTRY}/e2e/podman-base:1"
    built = f"{world.REGISTRY}/e2e/podman-built:1"
    context = rounds.build_context(tmp_path / "context", base, "podman build")
    certs = f"--cert-dir={cert_dir}"
    podman.ok("import", str(rootfs_tar), base)
    mark = ecr_registry.mark()

    def commands() -> None:
        podman.ok("push", certs, base)
        podman.ok("rmi", base)
        podman.ok("build", certs, "--pull=always", "--tag", built, str(context))
        podman.ok("push", certs, built)
        podman.ok("rmi", built)

    rounds.cold_then_warm(user, fake, commands)

    seen = ecr_registry.accesses(mark)
    assert ecr_registry.read("/v2/e2e/podman-base/manifests/1", mark), seen
    assert world.Access("PUT", "/v2/e2e/podman-built/manifests/1", authorized=True) in seen, seen
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in user.helper_runs())
    assert world.stored_secrets(user.docker_config) == {}


def test_podman_login_and_logout_through_the_docker_config(
    podman: ContainersTool, user: User, fake: FakeAWS, cert_dir: Path
) -> None:
    """``--authfile ~/.docker/config.json``: podman's own default (``auth.json``) has no
    ``credHelpers``, so only with the Docker config do login and logout reach ecrpy."""
    auth, certs = f"--authfile={user.docker_config}", f"--cert-dir={cert_dir}"

    def login() -> None:
        result = podman.ok("login", auth, certs, world.REGISTRY)  # no password: ecrpy's
        assert f"Already logged in to {world.REGISTRY}" in result.stdout, world.shown(result)

    cold, warm = rounds.cold_then_warm(user, fake, login)

    assert (cold.helper_runs, warm.helper_runs) == (1, 1)  # one get each, nothing stored
    assert world.cached_tokens(user.cache_dir, world.REGISTRY)

    logout = podman.ok("logout", auth, world.REGISTRY)

    assert f"Removed login credentials for {world.REGISTRY}" in logout.stdout, world.shown(logout)
    assert [run.action for run in user.helper_runs()][-1:] == ["erase"]
    assert all(run.code == 0 for run in user.helper_runs())
    assert world.cached_tokens(user.cache_dir, world.REGISTRY) == []

    # What `aws ecr get-login-password | podman login --password-stdin` users run: podman asks
    # ecrpy (get, a new token: the old one is gone), then hands it the password (store).
    runs = len(user.helper_runs())
    login = podman(
        "login", auth, certs, "-u", "AWS", "--password-stdin", world.REGISTRY, stdin=world.PASSWORD
    )

    assert login.returncode == 0, world.shown(login)
    assert "Login Succeeded" in login.stdout, world.shown(login)
    assert f"ecrpy: nothing stored for {world.REGISTRY}" in login.stderr, world.shown(login)
    assert [run.action for run in user.helper_runs()[runs:]] == ["get", "store"]
    assert fake.count("GetAuthorizationToken") == 2
    assert world.stored_secrets(user.docker_config) == {}
    assert world.PASSWORD not in user.docker_config.read_text(encoding="utf-8")
