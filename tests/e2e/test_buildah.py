"""buildah pulling, building ``FROM`` an ECR image and pushing, through ``credHelpers``.

buildah is containers/image, like skopeo and podman: it reads ``credHelpers`` from
``~/.docker/config.json`` when the user has no containers auth file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS

from . import rounds, world
from .conftest import ContainersTool, User, _containers_binds

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_buildah")]


@pytest.fixture(scope="session")
def needs_buildah() -> None:
    world.require(*world.BUILDAH)


@pytest.fixture(scope="session")
def buildah_setup(
    e2e_root: Path, namespace: world.Namespace
) -> Iterator[tuple[dict[str, Path], list[str]]]:
    targets = ["/etc/containers", "/var/lib/containers", "/run/containers"]
    binds = _containers_binds(namespace, "buildah", targets)
    storage = e2e_root / "buildah"
    options = [
        f"--root={storage / 'root'}",
        f"--runroot={storage / 'run'}",
        "--storage-driver=vfs",
    ]
    yield binds, options


@pytest.fixture
def buildah(
    user: User,
    namespace: world.Namespace,
    buildah_setup: tuple[dict[str, Path], list[str]],
    ecr_registry: world.Registry,
) -> ContainersTool:
    binds, options = buildah_setup
    return ContainersTool("buildah", user, namespace, binds, options)


def test_buildah_pull_from_bud_and_push_through_ecrpy(
    buildah: ContainersTool,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    cert_dir: Path,
    tmp_path: Path,
) -> None:
    layout = world.oci_layout(tmp_path / "layout")
    base = f"{world.REGISTRY}/e2e/buildah-base:1"
    built = f"{world.REGISTRY}/e2e/buildah-built:1"
    context = rounds.build_context(tmp_path / "context", base, "buildah bud")
    certs = f"--cert-dir={cert_dir}"
    # The base image reaches the registry from a local OCI layout: no credentials needed yet.
    image_id = buildah.ok("pull", f"oci:{layout.layout}:{layout.tag}").stdout.split()[-1]
    buildah.ok("tag", image_id, base)
    mark = ecr_registry.mark()

    def commands() -> None:
        buildah.ok("push", certs, base)
        buildah.ok("rmi", "--force", base)
        buildah.ok("pull", certs, base)
        container = buildah.ok("from", certs, "--pull-always", base).stdout.strip()
        buildah.ok("rm", container)
        buildah.ok("bud", certs, "--pull-always", "--tag", built, str(context))
        buildah.ok("push", certs, built)
        buildah.ok("rmi", "--force", built)

    rounds.cold_then_warm(user, fake, commands)

    seen = ecr_registry.accesses(mark)
    for repo in ("buildah-base", "buildah-built"):
        manifest = f"/v2/e2e/{repo}/manifests/1"
        assert world.Access("PUT", manifest, authorized=True) in seen, seen
    assert ecr_registry.read("/v2/e2e/buildah-base/manifests/1", mark), seen
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in user.helper_runs()), (
        user.helper_runs()
    )
    assert world.stored_secrets(user.docker_config) == {}
