"""``export``: each format read back the way its reader reads it, tokens as ``get`` has them.

The Docker config and the Secret are decoded as Kaniko, containers/image and the kubelet decode
them (base64 ``auth`` split on the first colon); the Secret is validated against the Kubernetes
API's own ``v1`` schema (``kubernetes-validate``); ``basic`` is split as ``ctr --user`` and
``crictl --creds`` split it. skopeo and podman reading the file with ``--authfile``, and ``ctr``
pulling with ``--user``, are in tests/e2e/test_export_and_aliases.py.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from credential_helper.commands import export
from fakeaws.server import FakeAWS, Fault
from tests.conftest import REGISTRY, SECRET_KEY, Helper

PASSWORD = "123456789012-auth-token"
OTHER = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
ALIAS = "registry.corp.example:5000"


def decoded_auths(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``auths`` as a client reads it: base64 of ``user:password``, split on the first colon."""
    found = {}
    for key, entry in document["auths"].items():
        user, _, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
        found[key] = (user, password)
    return found


def test_dockerconfig_for_registries_aliases_and_image_references(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path
) -> None:
    settings = tmp_path / "ecrpy.toml"
    settings.write_text(f'[aliases]\n"{ALIAS}" = "{REGISTRY}"\n')
    env["ECRPY_CONFIG"] = str(settings)
    env["ECRPY_LOG_LEVEL"] = "debug"
    result = helper.run(
        "export", f"{REGISTRY}/app:1", ALIAS, f"docker://{OTHER}/x@sha256:ab", env=env
    )
    assert result.returncode == 0, result.stderr
    assert decoded_auths(json.loads(result.stdout)) == {
        REGISTRY: ("AWS", PASSWORD),
        ALIAS: ("AWS", PASSWORD),
        OTHER: ("AWS", "210987654321-auth-token"),
    }
    assert fake.count("GetAuthorizationToken") == 2  # one per registry; the alias shares its token
    logged = (Path(env["HOME"]) / ".cache" / "ecrpy" / "ecrpy.log").read_text()
    assert "refresh " + REGISTRY in logged and PASSWORD not in logged + result.stderr


def test_export_and_get_share_the_cache(helper: Helper, env: dict[str, str], fake: FakeAWS) -> None:
    helper.get(REGISTRY, env)
    result = helper.run("export", "--format", "basic", REGISTRY, env=env)
    assert (result.returncode, result.stdout) == (0, f"AWS:{PASSWORD}\n")
    assert fake.count("GetAuthorizationToken") == 1


def test_basic_splits_as_ctr_and_crictl_split_it(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    fake.password = "pass:with:colons"
    result = helper.run("export", "--format", "basic", REGISTRY, env=env)
    # crictl --creds and ctr --user: "USERNAME[:PASSWORD]", split at the first colon
    user, _, password = result.stdout.rstrip("\n").partition(":")
    assert (user, password) == ("AWS", "pass:with:colons")
    assert result.stdout.count("\n") == 1


def test_min_validity_refreshes_a_token_with_less_left(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    fake.token_lifetime = 8 * 3600  # fresh for ecrpy (more than half left), but only 8 h
    helper.get(REGISTRY, env)
    helper.run("export", "--min-validity", "7h", REGISTRY, env=env)
    assert fake.count("GetAuthorizationToken") == 1  # 8 h left: enough
    fake.token_lifetime = 12 * 3600
    result = helper.run(
        "export", "--min-validity", "9h", "--format", "k8s-secret", REGISTRY, env=env
    )
    assert result.returncode == 0, result.stderr
    assert fake.count("GetAuthorizationToken") == 2  # less than 9 h left: refreshed
    assert helper.run("export", "--min-validity", "9h", REGISTRY, env=env).returncode == 0
    assert fake.count("GetAuthorizationToken") == 2  # and now cached with 12 h


def test_min_validity_that_no_token_can_meet_fails_loudly(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    fake.token_lifetime = 2 * 3600
    result = helper.run("export", "--min-validity", "3h", REGISTRY, env=env)
    assert result.returncode == 1 and result.stdout == ""
    assert "less than --min-validity" in result.stderr and result.stderr.count("\n") == 1


def test_many_exports_at_once_make_one_call(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    fake.add_fault(Fault(operation="GetAuthorizationToken", delay=0.5))  # widen the race
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: helper.run("export", REGISTRY, env=env), range(8)))
    assert [r.returncode for r in results] == [0] * 8
    assert fake.count("GetAuthorizationToken") == 1


# -- the Secret ----------------------------------------------------------------------------------


def test_the_secret_is_a_valid_v1_secret_the_kubelet_can_read(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    import kubernetes_validate

    result = helper.run(
        "export", "--format", "k8s-secret", "--name", "ecr-pull", "--namespace", "build",
        REGISTRY, OTHER, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    secret = json.loads(result.stdout)
    kubernetes_validate.validate(secret, kubernetes_validate.latest_version(), strict=True)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"]["name"] == "ecr-pull" and secret["metadata"]["namespace"] == "build"
    inner = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"], validate=True))
    assert decoded_auths(inner) == {
        REGISTRY: ("AWS", PASSWORD),
        OTHER: ("AWS", "210987654321-auth-token"),
    }
    expires = secret["metadata"]["annotations"][export.EXPIRY_ANNOTATION]
    cached = [
        json.loads(p.read_text())["expires_at"]
        for p in (Path(env["HOME"]) / ".cache" / "ecrpy").glob("*.json")
    ]
    assert expires == export.rfc3339(min(cached))


def test_the_schema_check_would_catch_a_broken_secret() -> None:
    import kubernetes_validate

    broken = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": 3}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--format", "k8s-secret", "--name", "Bad_Name", REGISTRY],
            "--name must be a Kubernetes name",
        ),
        (["--format", "k8s-secret", "--namespace=-x", REGISTRY], "--namespace must be"),
        (
            ["--format", "k8s-secret", "--namespace", "a.b", REGISTRY],
            "must be a Kubernetes namespace",
        ),
        (["--format", "basic", REGISTRY, OTHER], "name one registry"),
        (["--min-validity", "6 hours", REGISTRY], "--min-validity must be a duration"),
        (["--min-validity", "12h", REGISTRY], "less than 12h"),
        (
            ["docker.io/library/alpine"],
            "docker.io is not an Amazon ECR registry nor an alias",
        ),
    ],
)
def test_bad_arguments_are_one_line_and_no_aws_call(
    helper: Helper, env: dict[str, str], fake: FakeAWS, args: list[str], message: str
) -> None:
    result = helper.run("export", *args, env=env)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("ecrpy: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert fake.requests == []


def test_aws_refusing_is_the_line_get_gives(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    fake.add_fault(Fault(operation="GetAuthorizationToken", code="AccessDeniedException"))
    exported = helper.run("export", REGISTRY, env=env)
    got = helper.run("get", stdin=REGISTRY, env=env)
    assert exported.returncode == 1 and exported.stdout == ""
    assert exported.stderr == got.stdout  # the same one line
    assert SECRET_KEY not in exported.stderr


# -- --output ------------------------------------------------------------------------------------


def test_output_is_written_0600_and_replaced_atomically(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "auth.json"
    target.write_text("old")
    target.chmod(0o644)
    inode = target.stat().st_ino
    result = helper.run("export", "--output", str(target), REGISTRY, env=env)
    assert (result.returncode, result.stdout) == (0, "")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_ino != inode  # a new file renamed over the old one, not rewritten
    assert decoded_auths(json.loads(target.read_text())) == {REGISTRY: ("AWS", PASSWORD)}
    assert [p.name for p in target.parent.iterdir()] == ["auth.json"]  # no temp file left


@pytest.mark.parametrize("planted", ["symlink", "file"])
def test_output_in_a_shared_directory_is_neither_redirected_nor_blocked_by_planted_names(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path, planted: str
) -> None:
    """Anyone who can write to the output's directory may plant ``<out>.<pid>.tmp``, the name an
    earlier writer used: a link to a file of the user's, or a file of their own. The export
    runs under the very pid the names were planted for (``exec`` keeps the shell's pid)."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o1777)
    target = shared / "auth.json"
    victim = tmp_path / "victim"
    victim.write_text("the user's own file\n")
    plant = (
        f'ln -s {victim} "$OUT.$$.tmp"'
        if planted == "symlink"
        else 'printf planted > "$OUT.$$.tmp"; chmod 644 "$OUT.$$.tmp"'
    )
    result = subprocess.run(
        ["sh", "-c", f'{plant}; exec "$HELPER" export --output "$OUT" {REGISTRY}'],
        env={**env, "OUT": str(target), "HELPER": helper.path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert decoded_auths(json.loads(target.read_text())) == {REGISTRY: ("AWS", PASSWORD)}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    (left,) = [p for p in shared.iterdir() if p.name != "auth.json"]  # the planted name, as it was
    assert left.name.startswith("auth.json.") and left.name.endswith(".tmp")
    assert victim.read_text() == "the user's own file\n"  # nothing written through the link
    if planted == "symlink":
        assert left.is_symlink() and os.readlink(left) == str(victim)
    else:
        assert not left.is_symlink() and left.read_text() == "planted"


def test_output_never_replaces_what_is_not_a_regular_file(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = helper.run("export", "--output", str(fifo), REGISTRY, env=env)
    assert result.returncode == 1 and "is not a regular file" in result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_output_where_it_cannot_be_written_is_one_line(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path
) -> None:
    result = helper.run("export", "--output", str(tmp_path / "no" / "dir" / "x"), REGISTRY, env=env)
    assert result.returncode == 1 and result.stderr.startswith("ecrpy: cannot write ")
    assert result.stderr.count("\n") == 1 and PASSWORD not in result.stderr


@pytest.mark.parametrize(
    ("text", "seconds"), [("6h", 21600), ("90m", 5400), ("1h30m", 5400), ("45s", 45), ("0", 0)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert export.parse_duration(text) == seconds


def test_export_is_a_command_of_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "credential_helper", "export", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "--min-validity" in result.stdout
