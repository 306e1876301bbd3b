"""Hostile or broken input, and a cache under attack: always the protocol's answer, never a crash."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credential_helper import access, cli
from fakeaws.server import FakeAWS
from tests.conftest import REGISTRY, Helper, cache_dir

PASSWORD = "123456789012-auth-token"
NOT_FOUND = "credentials not found in native keychain\n"


def assert_clean(result: subprocess.CompletedProcess[str], *hidden: str) -> None:
    assert result.stdout.count("\n") <= 1
    assert "Traceback" not in result.stdout + result.stderr
    for text in hidden:
        assert text not in result.stdout + result.stderr


# -- stdin -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stdin", "answer"),
    [
        (b"\x00\x01\x02\xff\xfe", NOT_FOUND),
        (REGISTRY.encode() + b"\x00evil", NOT_FOUND),
        (b"\xc3\x28" + REGISTRY.encode(), NOT_FOUND),  # invalid UTF-8
        (json.dumps({"ServerURL": REGISTRY}).encode(), NOT_FOUND),  # JSON where a URL belongs
        (b"\r\n\t \r\n", "no credentials server URL\n"),
        (b"a" * 70_000, "ecrpy: input too long: more than 65536 bytes on stdin\n"),
    ],
)
def test_broken_stdin_gets_the_protocol_answer(
    helper: Helper, env: dict[str, str], fake: FakeAWS, stdin: bytes, answer: str
) -> None:
    result = helper.run("get", stdin=stdin, env=env)
    assert (result.returncode, result.stdout) == (1, answer)
    assert_clean(result)
    assert fake.requests == []


def test_a_url_with_credentials_is_served_without_echoing_them(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    result = helper.run("get", stdin=f"https://someone:hunter2@{REGISTRY}/v2/", env=env)
    answer = json.loads(result.stdout)
    assert answer == {"ServerURL": f"https://{REGISTRY}/v2/", "Username": "AWS", "Secret": PASSWORD}
    assert_clean(result, "hunter2")


def test_a_huge_store_payload_is_refused_without_echo(helper: Helper, env: dict[str, str]) -> None:
    payload = json.dumps({"ServerURL": "ghcr.io", "Username": "u", "Secret": "s3cr3t" * 20000})
    result = helper.run("store", stdin=payload, env=env)
    assert result.returncode == 1
    assert_clean(result, "s3cr3t")


# -- nothing but a real ECR hostname reaches AWS -------------------------------------------------

# An oracle written independently of registry.py: the documented ECR hostname forms.
_ECR = re.compile(
    r"\d{12}\.(?:dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.(?:amazonaws\.com(?:\.cn)?|amazonaws\.eu|c2s\.ic\.gov"
    r"|sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)"
    r"|dkr-ecr(?:-fips)?\.[a-z0-9-]+\.(?:on\.aws|on\.amazonwebservices\.com\.cn|on\.amazonwebservices\.eu"
    r"|on\.aws\.ic\.gov|on\.aws\.scloud|on\.cloud-aws\.adc-e\.uk|on\.aws\.hci\.ic\.gov))"
    r"|public\.ecr\.aws|ecr-public\.aws\.com"
)
_PIECES = [
    "123456789012",
    "dkr",
    "ecr",
    "dkr-ecr",
    "ecr-fips",
    "us-east-1",
    "cn-north-1",
    "amazonaws",
    "com",
    "cn",
    "on",
    "aws",
    "public",
    "evil",
    "example",
    "",
    "1",
    "x",
]
_hostish = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=8).map(".".join)
_decorated = st.tuples(
    st.sampled_from(["", "https://", "http://", "u:p@", "https://u:p@"]),
    st.one_of(_hostish, st.text(max_size=40)),
    st.sampled_from(["", ":443", "/v2/", ".", "\r\n", "\x00", ":x"]),
).map("".join)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stdin=st.one_of(_decorated, st.binary(max_size=80).map(lambda b: b.decode("latin-1"))))
def test_only_a_real_ecr_hostname_ever_leads_to_an_aws_call(
    stdin: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked: list[str] = []

    def fetch(environ: Any) -> Any:
        def record(registry: Any) -> Any:
            asked.append(registry.host)
            from credential_helper.errors import NETWORK, TokenUnavailable

            raise TokenUnavailable("offline in this test", NETWORK)

        return record

    monkeypatch.setattr(access, "configured_fetch", fetch)
    monkeypatch.setattr(cli, "read_stdin", lambda: stdin.encode("utf-8", "surrogatepass")[:65536])
    monkeypatch.setattr("sys.stdout", io.StringIO())
    monkeypatch.setattr("sys.stderr", io.StringIO())
    code = cli.run(["get"], {"HOME": str(tmp_path), "AWS_ECR_DISABLE_CACHE": "1"})
    assert code == 1
    for host in asked:
        assert _ECR.fullmatch(host), host


# -- the cache under attack ---------------------------------------------------------------------


def test_a_cache_directory_of_another_user_is_not_used(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to hand a directory to another user")
    directory = cache_dir(env)
    directory.mkdir(parents=True, mode=0o700)
    os.chown(directory, 65534, 65534)
    for _ in range(2):
        result = helper.run("get", stdin=REGISTRY, env=env)
        assert result.returncode == 0 and json.loads(result.stdout)["Secret"] == PASSWORD
    assert "belongs to another user" in result.stderr  # said where the user can see it
    assert list(directory.iterdir()) == []  # nothing written into someone else's directory
    assert fake.count("GetAuthorizationToken") == 2  # without a cache: a fetch each time


def test_a_symlinked_cache_directory_is_not_followed(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path
) -> None:
    target = tmp_path / "attacker"
    target.mkdir(mode=0o700)
    cache_dir(env).parent.mkdir(parents=True)
    cache_dir(env).symlink_to(target)
    result = helper.run("get", stdin=REGISTRY, env=env)
    assert json.loads(result.stdout)["Secret"] == PASSWORD
    assert list(target.iterdir()) == []
    assert "symlink" in result.stderr


def test_a_world_writable_cache_directory_is_not_used(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, env)
    os.chmod(cache_dir(env), 0o777)
    result = helper.run("get", stdin=REGISTRY, env=env)
    assert json.loads(result.stdout)["Secret"] == PASSWORD
    assert "writable by other users" in result.stderr
    assert fake.count("GetAuthorizationToken") == 2


def test_a_symlinked_token_file_is_not_followed_or_overwritten(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path
) -> None:
    helper.get(REGISTRY, env)
    (entry,) = cache_dir(env).glob("*.json")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    entry.unlink()
    entry.symlink_to(victim)
    assert helper.get(REGISTRY, env)["Secret"] == PASSWORD
    assert victim.read_text() == "precious"
    assert not entry.is_symlink()  # replaced by a real file of ours, atomically


def _in_private_mounts(script: str, helper: Helper, env: dict[str, str]) -> Any:
    """Run ``script`` (sh) in a private mount namespace, then ``get`` there."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("this test needs root and unshare (util-linux)")
        pytest.skip("needs root and unshare for a private mount namespace")
    command = f'{script} && exec "$0" get'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", command, helper.path],
        input=REGISTRY,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_read_only_home_still_answers(helper: Helper, env: dict[str, str], fake: FakeAWS) -> None:
    home = env["HOME"]
    result = _in_private_mounts(
        f"mount --bind {home} {home} && mount -o remount,bind,ro {home}", helper, env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["Secret"] == PASSWORD
    assert "Traceback" not in result.stderr and "Logging error" not in result.stderr


def test_a_full_disk_still_answers_and_leaves_no_partial_file(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    directory = cache_dir(env)
    directory.mkdir(parents=True, mode=0o700)
    fill = (
        f"mount -t tmpfs -o size=64k,mode=0700 tmpfs {directory} && "
        f"(dd if=/dev/zero of={directory}/filler bs=4k count=100 2>/dev/null; true)"
    )
    result = _in_private_mounts(fill, helper, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["Secret"] == PASSWORD
    assert "Traceback" not in result.stderr and "Logging error" not in result.stderr
    assert "ecrpy: WARNING cannot write cache file for" in result.stderr
    assert "No space left on device" in result.stderr
