"""Reading an image's manifest without pulling it: ``docker manifest inspect``, ``docker create``
(which pulls what it lacks) and ``skopeo inspect``.

``docker manifest inspect`` talks to the registry from the CLI itself, not the daemon: it runs in
the private namespace (our /etc/hosts) and trusts the test CA from ``/etc/docker/certs.d``, as a
user's CLI on a machine with a private registry does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS

from . import rounds, world
from .conftest import ContainersTool, DockerCLI, User

IMAGE = f"{world.REGISTRY}/e2e/inspect:1"


@pytest.fixture
def published(docker: DockerCLI, user: User, rootfs_tar: Path) -> str:
    """IMAGE in the registry, not on the daemon; ecrpy's cache and trace afresh. Its digest."""
    pushed = rounds.publish(docker, user, rootfs_tar, IMAGE)
    (digest,) = [w for w in pushed.split() if w.startswith("sha256:")]
    return digest


@pytest.mark.e2e
@pytest.mark.usefixtures("needs_docker")
def test_docker_manifest_inspect_and_create(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    namespace: world.Namespace,
    dockerd: world.Dockerd,
    ecr_registry: world.Registry,
    published: str,
) -> None:
    binds = {"/etc/docker": namespace.private_dir("dockerd", "/etc/docker")}
    inspect = namespace.command(["docker", "manifest", "inspect", IMAGE], binds)
    mark = ecr_registry.mark()

    def commands() -> None:
        result = world.run(inspect, docker.env)
        assert result.returncode == 0, world.shown(result)
        manifest = json.loads(result.stdout)
        assert manifest["schemaVersion"] == 2 and len(manifest["layers"]) == 1
        container = docker.ok("create", IMAGE, "/hello.txt").stdout.strip()
        docker.ok("rm", container)
        docker.ok("rmi", IMAGE)

    rounds.cold_then_warm(user, fake, commands)

    seen = ecr_registry.accesses(mark)
    assert world.Access("GET", "/v2/e2e/inspect/manifests/1", authorized=True) in seen, seen
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in user.helper_runs())
    assert world.stored_secrets(user.docker_config) == {}


@pytest.mark.e2e
@pytest.mark.usefixtures("needs_docker", "needs_skopeo")
def test_skopeo_inspect_runs_the_helper_twice_and_asks_ecr_once(
    skopeo: ContainersTool,
    user: User,
    fake: FakeAWS,
    cert_dir: Path,
    published: str,
) -> None:
    """One ``skopeo inspect`` runs ``get`` twice (skopeo 1.9): both answered from one token."""

    def inspect() -> None:
        result = skopeo.ok("inspect", f"--cert-dir={cert_dir}", f"docker://{IMAGE}")
        assert json.loads(result.stdout)["Digest"] == published

    cold, warm = rounds.cold_then_warm(user, fake, inspect)

    assert (cold.gets, warm.gets) == (2, 2), (cold, warm)
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in user.helper_runs())
