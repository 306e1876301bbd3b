"""``export`` read by the programs it is for, and a registry alias pulled through by name.

- skopeo and podman given only ``--authfile`` (the user's Docker config names no helper): the
  file ``export`` wrote is all they have, and the registry refuses them without AWS's token.
- An alias: ``registry.corp.test`` points at the ECR registry's address (the private hosts file),
  ecrpy's settings list it in ``[aliases]``, and docker and skopeo pull by that name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeaws import tls
from fakeaws.server import FakeAWS

from ..conftest import helper_path
from . import world
from .conftest import ContainersTool, DockerCLI, User

pytestmark = pytest.mark.e2e


def _export(user: User, *args: str) -> None:
    result = world.run([helper_path(), "export", *args], user.env)
    assert result.returncode == 0, world.shown(result)


def _no_helper(user: User) -> None:
    """The user's Docker config names no credential helper: only --authfile can authenticate."""
    user.configure_docker({})


@pytest.mark.usefixtures("needs_skopeo")
def test_skopeo_copies_with_an_exported_authfile(
    skopeo: ContainersTool,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    cert_dir: Path,
    tmp_path: Path,
) -> None:
    _no_helper(user)
    authfile = tmp_path / "auth.json"
    _export(user, "--output", str(authfile), f"{world.REGISTRY}/e2e/export:1")
    image = world.oci_layout(tmp_path / "layout")
    remote = f"docker://{world.REGISTRY}/e2e/export:1"
    mark = ecr_registry.mark()

    skopeo.ok(
        "copy", "--dest-cert-dir", str(cert_dir), "--dest-authfile", str(authfile),
        f"oci:{image.layout}:{image.tag}", remote,
    )  # fmt: skip
    inspected = skopeo.ok(
        "inspect", "--cert-dir", str(cert_dir), "--authfile", str(authfile), remote
    )
    unauthenticated = skopeo("inspect", "--cert-dir", str(cert_dir), remote)  # no --authfile

    assert unauthenticated.returncode != 0, world.shown(unauthenticated)
    assert "unauthorized" in unauthenticated.stderr.lower(), world.shown(unauthenticated)
    assert json.loads(inspected.stdout)["Digest"] == image.manifest_digest
    seen = ecr_registry.accesses(mark)
    assert world.Access("PUT", "/v2/e2e/export/manifests/1", authorized=True) in seen, seen
    assert user.helper_runs("get") == []  # skopeo never ran ecrpy: the file did it
    assert fake.count("GetAuthorizationToken") == 1


@pytest.mark.usefixtures("needs_podman")
def test_podman_pulls_with_an_exported_authfile(
    podman: ContainersTool,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    cert_dir: Path,
    rootfs_tar: Path,
    tmp_path: Path,
) -> None:
    _no_helper(user)
    authfile = tmp_path / "auth.json"
    _export(user, "--output", str(authfile), "--min-validity", "6h", world.REGISTRY)
    image = f"{world.REGISTRY}/e2e/export-podman:1"
    podman.ok("import", str(rootfs_tar), image)
    podman.ok("push", "--cert-dir", str(cert_dir), "--authfile", str(authfile), image)
    podman.ok("rmi", image)
    mark = ecr_registry.mark()

    podman.ok("pull", "--cert-dir", str(cert_dir), "--authfile", str(authfile), image)

    podman.ok("image", "exists", image)
    seen = ecr_registry.accesses(mark)
    manifest = "/v2/e2e/export-podman/manifests/1"
    assert world.Access("GET", manifest, authorized=True) in seen, seen
    assert user.helper_runs("get") == []
    assert fake.count("GetAuthorizationToken") == 1


def _aliased(user: User, tmp_path: Path) -> None:
    settings = tmp_path / "ecrpy.toml"
    settings.write_text(f'[aliases]\n"{world.ALIAS_REGISTRY}" = "{world.REGISTRY}"\n')
    user.env["ECRPY_CONFIG"] = str(settings)
    user.configure_docker({"credHelpers": {world.ALIAS_REGISTRY: "ecrpy"}})


@pytest.mark.usefixtures("needs_docker")
def test_docker_pushes_and_pulls_through_an_alias(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    rootfs_tar: Path,
    tmp_path: Path,
) -> None:
    _aliased(user, tmp_path)
    docker.env["ECRPY_CONFIG"] = user.env["ECRPY_CONFIG"]
    image = f"{world.ALIAS_REGISTRY}/e2e/alias:1"
    docker.ok("import", str(rootfs_tar), image)
    mark = ecr_registry.mark()

    docker.ok("push", image)
    docker.ok("rmi", image)
    pull = docker.ok("pull", image)

    assert f"Downloaded newer image for {image}" in pull.stdout, world.shown(pull)
    seen = ecr_registry.accesses(mark)
    assert world.Access("PUT", "/v2/e2e/alias/manifests/1", authorized=True) in seen, seen
    gets = user.helper_runs("get")
    assert gets and all(r.stdin == world.ALIAS_REGISTRY and r.code == 0 for r in gets), gets
    assert all(json.loads(r.stdout)["ServerURL"] == world.ALIAS_REGISTRY for r in gets), gets
    assert fake.count("GetAuthorizationToken") == 1


@pytest.mark.usefixtures("needs_skopeo")
def test_skopeo_copies_through_an_alias(
    skopeo: ContainersTool,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    cert_dir: Path,
    tmp_path: Path,
) -> None:
    _aliased(user, tmp_path)
    image = world.oci_layout(tmp_path / "layout")
    remote = f"docker://{world.ALIAS_REGISTRY}/e2e/alias-skopeo:1"

    skopeo.ok("copy", "--dest-cert-dir", str(cert_dir), f"oci:{image.layout}:{image.tag}", remote)
    inspected = json.loads(skopeo.ok("inspect", "--cert-dir", str(cert_dir), remote).stdout)

    assert inspected["Digest"] == image.manifest_digest
    gets = user.helper_runs("get")
    assert gets and all(r.stdin == world.ALIAS_REGISTRY and r.code == 0 for r in gets), gets
    assert fake.count("GetAuthorizationToken") == 1


@pytest.mark.usefixtures("needs_docker")
def test_ctr_pulls_with_exported_basic_credentials(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    dockerd: world.Dockerd,
    namespace: world.Namespace,
    certs: tls.Certs,
    rootfs_tar: Path,
) -> None:
    """``ctr --user "$(export --format basic ...)"`` against the containerd dockerd runs: the
    ``user:password`` split as containerd splits it."""
    world.require("ctr")
    image = f"{world.REGISTRY}/e2e/ctr:1"
    docker.ok("import", str(rootfs_tar), image)
    docker.ok("push", image)
    user.configure_docker({})  # from here on, only the exported credentials
    basic = world.run([helper_path(), "export", "--format", "basic", image], user.env)
    assert basic.returncode == 0, world.shown(basic)
    socket = dockerd.exec_root / "exec" / "containerd" / "containerd.sock"
    argv = [
        "ctr", "--address", str(socket), "--namespace", "ecrpy-e2e", "images", "pull",
        "--tlscacert", certs.ca, "--user", basic.stdout.strip(), image,
    ]  # fmt: skip
    mark = ecr_registry.mark()

    pulled = world.run(namespace.command(argv, {}), user.env)

    assert pulled.returncode == 0, world.shown(pulled).replace(world.PASSWORD, "***")
    seen = ecr_registry.accesses(mark)
    assert any(a.authorized and a.uri == "/v2/e2e/ctr/manifests/1" for a in seen), seen
    assert fake.count("GetAuthorizationToken") == 1  # docker's push and the export: one token
