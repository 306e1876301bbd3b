"""oras-py pushing and pulling an OCI artifact in ECR, with its ``basic`` auth backend.

oras-py reads ``credHelpers`` from ``~/.docker/config.json`` and runs the helper itself. Its
default ``token`` backend is not usable with ECR: it reads the ``realm`` of any challenge as a
token URL, also of a ``Basic`` one (``oras/auth/token.py``, ``authenticate_request`` ignores the
scheme). ECR challenges with ``Basic``, as the test registry does, so there is no token
service to ask; with the test registry's realm (``ecrpy-e2e``, no URL) the token request waits on
a name lookup. The fault is oras-py's, not the registry's: the test pins ``basic``, the backend
that answers the challenge it gets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from fakeaws import tls
from fakeaws.server import FakeAWS

from . import rounds, world
from .conftest import User

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_oras")]

ARTIFACT = f"{world.REGISTRY}/e2e/oras-artifact:1"

# A user's program, run in the private namespace (our /etc/hosts) with the user's environment.
PROGRAM = """
import json, os, sys
import oras.client

target, ca, workdir, outdir = sys.argv[1:]
os.chdir(workdir)
client = oras.client.OrasClient(hostname=target.split("/")[0], tls_verify=ca, auth_backend="basic")
pushed = client.push(files=["notes.txt"], target=target)
pushed.raise_for_status()
files = client.pull(target=target, outdir=outdir)
print(json.dumps({"pushed": pushed.status_code, "files": [os.path.relpath(f, outdir) for f in files]}))
"""


@pytest.fixture(scope="session")
def needs_oras() -> None:
    world.require(*world.WORLD)
    world.require_python("oras")


def test_oras_push_and_pull_an_artifact_through_ecrpy(
    user: User,
    fake: FakeAWS,
    namespace: world.Namespace,
    ecr_registry: world.Registry,
    certs: tls.Certs,
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "artifact"
    workdir.mkdir()
    notes = "an artifact pushed by oras-py through ecrpy\n"
    (workdir / "notes.txt").write_text(notes)
    outdir = tmp_path / "pulled"
    argv = [sys.executable, "-c", PROGRAM, ARTIFACT, certs.ca, str(workdir), str(outdir)]
    mark = ecr_registry.mark()

    def program() -> None:
        result = world.run(namespace.command(argv, {}), user.env)
        assert result.returncode == 0, world.shown(result)
        assert json.loads(result.stdout.splitlines()[-1])["files"] == ["notes.txt"]
        assert (outdir / "notes.txt").read_text() == notes

    rounds.cold_then_warm(user, fake, program)

    seen = ecr_registry.accesses(mark)
    manifest = "/v2/e2e/oras-artifact/manifests/1"
    assert world.Access("PUT", manifest, authorized=True) in seen, seen
    assert world.Access("GET", manifest, authorized=True) in seen, seen
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in user.helper_runs())
    assert world.stored_secrets(user.docker_config) == {}
