"""podman pushing and pulling through the same ``credHelpers`` entry docker uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakeaws.server import FakeAWS

from . import world
from .conftest import ContainersTool, User

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_podman")]


def test_podman_push_then_pull_through_ecrpy(
    podman: ContainersTool,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    cert_dir: Path,
    rootfs_tar: Path,
) -> None:
    image = f"{world.REGISTRY}/e2e/podman:1"
    manifest = "/v2/e2e/podman/manifests/1"
    podman.ok("import", str(rootfs_tar), image)
    mark = ecr_registry.mark()

    podman.ok("push", "--cert-dir", str(cert_dir), image)
    podman.ok("rmi", image)
    assert podman("image", "exists", image).returncode == 1
    podman.ok("pull", "--cert-dir", str(cert_dir), image)

    podman.ok("image", "exists", image)
    seen = ecr_registry.accesses(mark)
    assert world.Access("PUT", manifest, authorized=True) in seen, seen
    assert world.Access("GET", manifest, authorized=True) in seen, seen
    gets = user.helper_runs("get")
    assert gets, "podman never ran ecrpy"
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in gets), gets
    assert fake.count("GetAuthorizationToken") == 1
    assert world.stored_secrets(user.docker_config) == {}
