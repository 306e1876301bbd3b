"""skopeo copying and inspecting through the same ``credHelpers`` entry docker uses.

containers/image reads ``credHelpers`` from the first Docker-format auth file it finds:
``--authfile``, ``$REGISTRY_AUTH_FILE``, ``$XDG_RUNTIME_DIR/containers/auth.json``,
``~/.config/containers/auth.json``, then ``$DOCKER_CONFIG/config.json`` or
``~/.docker/config.json``. Here the user has only the last, as a Docker user does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS

from . import world
from .conftest import ContainersTool, User

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("needs_skopeo")]


def test_skopeo_copy_and_inspect_through_ecrpy(
    skopeo: ContainersTool,
    user: User,
    fake: FakeAWS,
    ecr_registry: world.Registry,
    cert_dir: Path,
    tmp_path: Path,
) -> None:
    image = world.oci_layout(tmp_path / "layout")
    remote = f"docker://{world.REGISTRY}/e2e/skopeo:1"
    mark = ecr_registry.mark()

    skopeo.ok("copy", "--dest-cert-dir", str(cert_dir), f"oci:{image.layout}:{image.tag}", remote)
    inspected = json.loads(skopeo.ok("inspect", "--cert-dir", str(cert_dir), remote).stdout)
    copied = tmp_path / "copied"
    skopeo.ok("copy", "--src-cert-dir", str(cert_dir), remote, f"oci:{copied}:v1")

    assert inspected["Digest"] == image.manifest_digest
    assert inspected["Layers"] == [image.layer_digest]
    layer = copied / "blobs" / "sha256" / image.layer_digest.split(":", 1)[1]
    assert layer.read_bytes() == image.blobs[image.layer_digest]
    seen = ecr_registry.accesses(mark)
    manifest = "/v2/e2e/skopeo/manifests/1"
    assert world.Access("PUT", manifest, authorized=True) in seen, seen
    assert world.Access("GET", manifest, authorized=True) in seen, seen
    gets = user.helper_runs("get")
    assert gets, "skopeo never ran ecrpy"
    assert all(run.stdin == world.REGISTRY and run.code == 0 for run in gets), gets
    assert fake.count("GetAuthorizationToken") == 1
    assert world.stored_secrets(user.docker_config) == {}


def test_skopeo_shows_ecrpy_message_when_ecr_refuses_the_token(
    skopeo: ContainersTool, token_refused: str, cert_dir: Path
) -> None:
    remote = f"docker://{world.DENIED_REGISTRY}/e2e/skopeo:1"

    result = skopeo("inspect", "--cert-dir", str(cert_dir), remote)

    assert result.returncode != 0, world.shown(result)
    assert token_refused in result.stderr, world.shown(result)
