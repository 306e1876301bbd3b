"""The Python Docker SDK (``docker`` on PyPI) pulling, pushing and building through ecrpy.

The SDK reads ``credHelpers`` from ``~/.docker/config.json`` itself and runs the helper itself,
with no docker CLI involved. It runs here as a user's program does: a Python process with the
user's environment (HOME, PATH with the helper, AWS settings), talking to the test daemon.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS

from . import rounds, world
from .conftest import DockerCLI, User

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_docker", "needs_docker_sdk")]

BASE = f"{world.REGISTRY}/e2e/sdk-base:1"
COPY = f"{world.REGISTRY}/e2e/sdk-copy:1"
BUILT = f"{world.REGISTRY}/e2e/sdk-built:1"

# A user's program. push() does not raise on a failed push: the error is in the stream.
PROGRAM = """
import json, sys
import docker

base, copy, built, context = sys.argv[1:]
client = docker.from_env()
steps = []

def pushed(reference):
    repository, tag = reference.rsplit(":", 1)
    digest = None
    for line in client.images.push(repository, tag=tag, stream=True, decode=True):
        if "error" in line or "errorDetail" in line:
            raise SystemExit("push failed: " + json.dumps(line))
        digest = (line.get("aux") or {}).get("Digest", digest)
    if not digest:
        raise SystemExit("push of %s reported no digest" % reference)
    return digest

image = client.images.pull(base)
steps.append(["pull", image.id])
image.tag(copy)
steps.append(["push", pushed(copy)])
image, _ = client.images.build(path=context, tag=built, pull=True, rm=True)
steps.append(["build", image.id])
steps.append(["push", pushed(built)])
for reference in (built, copy, base):
    client.images.remove(reference)
print(json.dumps(steps))
"""


@pytest.fixture(scope="session")
def needs_docker_sdk() -> None:
    world.require_python("docker")


def test_sdk_pull_push_and_build_through_ecrpy(
    docker: DockerCLI,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    rootfs_tar: Path,
    tmp_path: Path,
) -> None:
    # One entry: images.build, like the classic builder, runs get for every credHelpers entry.
    rounds.helpers_for(user, [world.REGISTRY])
    rounds.publish(docker, user, rootfs_tar, BASE)
    context = rounds.build_context(tmp_path / "context", BASE, "the Docker SDK")
    argv = [sys.executable, "-c", PROGRAM, BASE, COPY, BUILT, str(context)]
    mark = ecr_registry.mark()

    def program() -> None:
        result = world.run(argv, docker.env)
        assert result.returncode == 0, world.shown(result)
        steps = json.loads(result.stdout)
        assert [step for step, _ in steps] == ["pull", "push", "build", "push"], steps

    rounds.cold_then_warm(user, fake, program)

    seen = ecr_registry.accesses(mark)
    assert ecr_registry.read("/v2/e2e/sdk-base/manifests/1", mark), seen
    for repo in ("sdk-copy", "sdk-built"):
        assert world.Access("PUT", f"/v2/e2e/{repo}/manifests/1", authorized=True) in seen, seen
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in user.helper_runs())
    assert world.stored_secrets(user.docker_config) == {}
