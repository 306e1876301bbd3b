"""A cached token never outlives the AWS session that minted it, for every source of temporary
credentials botocore resolves, through the installed helper and the fake AWS.

The helper's clock cannot be moved, so time is moved in the cache instead: an entry's times are
shifted into the past, as if the clock had gone on (never a sleep, never a timed assert).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fakeaws.imds import CONTAINER_PATH, CredentialEndpoints
from fakeaws.server import FakeAWS, Fault
from tests.conftest import ACCESS_KEY, REGISTRY, SECRET_KEY, Helper

ROLE = "arn:aws:iam::123456789012:role/ecr-pull"
SESSION = 1800.0  # the sessions these tests hand out: 30 minutes
SLACK = 120.0  # a process's start, STS's whole seconds


def iso(seconds_from_now: float) -> str:
    moment = datetime.datetime.now(datetime.timezone.utc)
    return (moment + datetime.timedelta(seconds=seconds_from_now)).strftime("%Y-%m-%dT%H:%M:%SZ")


def without_keys(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}


def role_keys(expires_in: float) -> dict[str, str]:
    return {
        "AccessKeyId": "ASIAROLESESSION00001",
        "SecretAccessKey": "role-session-secret",
        "SessionToken": "role-session-token",
        "Expiration": iso(expires_in),
    }


@pytest.fixture
def endpoints() -> Iterator[CredentialEndpoints]:
    with CredentialEndpoints() as served:
        yield served


def profile_role(env: dict[str, str], home: Path, fake: FakeAWS, **_: Any) -> dict[str, str]:
    aws = home / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        f"[main]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    (aws / "config").write_text(f"[profile pull]\nrole_arn = {ROLE}\nsource_profile = main\n")
    return {**without_keys(env), "AWS_PROFILE": "pull"}


def settings_role(env: dict[str, str], home: Path, fake: FakeAWS, **_: Any) -> dict[str, str]:
    settings = home / ".config" / "ecrpy" / "config.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text(f'[registries."{REGISTRY}"]\nrole_arn = "{ROLE}"\n')
    return env


def web_identity(env: dict[str, str], home: Path, fake: FakeAWS, **_: Any) -> dict[str, str]:
    token = home / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.pod.signature")
    return {**without_keys(env), "AWS_ROLE_ARN": ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token)}


def sso(env: dict[str, str], home: Path, fake: FakeAWS, **_: Any) -> dict[str, str]:
    start = "https://corp.awsapps.com/start"
    aws = home / ".aws"
    (aws / "sso" / "cache").mkdir(parents=True)
    (aws / "config").write_text(
        f"[profile corp]\nsso_start_url = {start}\nsso_region = us-east-1\n"
        "sso_account_id = 123456789012\nsso_role_name = ecr-pull\nregion = us-east-1\n"
    )
    cached = aws / "sso" / "cache" / (hashlib.sha1(start.encode()).hexdigest() + ".json")
    cached.write_text(
        json.dumps(
            {
                "startUrl": start,
                "region": "us-east-1",
                "accessToken": "sso-portal-access-token",
                "expiresAt": iso(8 * 3600),
            }
        )
    )
    return {**without_keys(env), "AWS_PROFILE": "corp"}


def instance(
    env: dict[str, str], home: Path, fake: FakeAWS, endpoints: CredentialEndpoints
) -> dict[str, str]:
    endpoints.serve(ROLE, role_keys(SESSION))
    environment = without_keys(env)
    del environment["AWS_EC2_METADATA_DISABLED"]
    return {**environment, "AWS_EC2_METADATA_SERVICE_ENDPOINT": endpoints.url}


def container(
    env: dict[str, str], home: Path, fake: FakeAWS, endpoints: CredentialEndpoints
) -> dict[str, str]:
    endpoints.serve(ROLE, role_keys(SESSION), authorization="pod-identity-token")
    token = home / "pod-identity-token"
    token.write_text("pod-identity-token")
    return {
        **without_keys(env),
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoints.url + CONTAINER_PATH,
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token),
    }


def credential_process(env: dict[str, str], home: Path, fake: FakeAWS, **_: Any) -> dict[str, str]:
    keys = role_keys(SESSION)
    answer = {
        "Version": 1,
        "AccessKeyId": keys["AccessKeyId"],
        "SecretAccessKey": keys["SecretAccessKey"],
        "SessionToken": keys["SessionToken"],
        "Expiration": keys["Expiration"],
    }
    script = home / "creds.py"
    script.write_text(f"print({json.dumps(json.dumps(answer))})\n")
    aws = home / ".aws"
    aws.mkdir()
    (aws / "config").write_text(f"[profile proc]\ncredential_process = {sys.executable} {script}\n")
    return {**without_keys(env), "AWS_PROFILE": "proc"}


def environment_keys(env: dict[str, str], home: Path, fake: FakeAWS, **_: Any) -> dict[str, str]:
    return {
        **env,
        "AWS_SESSION_TOKEN": "env-session-token",
        "AWS_CREDENTIAL_EXPIRATION": iso(SESSION),
    }


SOURCES: dict[str, Callable[..., dict[str, str]]] = {
    "profile-role": profile_role,
    "settings-role": settings_role,
    "web-identity": web_identity,
    "sso": sso,
    "instance-metadata": instance,
    "container": container,
    "credential-process": credential_process,
    "environment": environment_keys,
}


def entry_path(home: Path) -> Path:
    (path,) = (home / ".cache" / "ecrpy").glob(f"{REGISTRY}.*.json")
    return path


def move_clock(home: Path, seconds: float) -> dict[str, Any]:
    """Make the cached entry look ``seconds`` older: what a clock gone on would see."""
    path = entry_path(home)
    data: dict[str, Any] = json.loads(path.read_text())
    for name in ("expires_at", "fetched_at", "session_expires_at"):
        if name in data:
            data[name] -= seconds
    path.write_text(json.dumps(data))
    return data


def token_requests(fake: FakeAWS) -> int:
    return fake.count("GetAuthorizationToken")


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_a_token_lives_no_longer_than_its_session(
    source: str,
    helper: Helper,
    env: dict[str, str],
    fake: FakeAWS,
    home: Path,
    endpoints: CredentialEndpoints,
) -> None:
    fake.session_lifetime = SESSION
    environment = SOURCES[source](env, home, fake, endpoints=endpoints)
    before = datetime.datetime.now(datetime.timezone.utc).timestamp()
    assert helper.get(REGISTRY, environment)["Secret"] == "123456789012-auth-token"
    assert token_requests(fake) == 1
    cached = json.loads(entry_path(home).read_text())
    ends = cached["session_expires_at"]  # the session's end, not ECR's twelve hours
    assert before + SESSION - SLACK <= ends <= before + SESSION + SLACK, cached
    assert cached["expires_at"] - cached["fetched_at"] > 11 * 3600  # ECR's own expiry is kept
    listed = helper.run("list", env=environment)
    assert json.loads(listed.stdout) == {f"https://{REGISTRY}": "AWS"}

    asked, served = len(fake.requests), dict(endpoints.requests)
    helper.get(REGISTRY, environment)  # warm, in the first half of the session
    assert len(fake.requests) == asked and endpoints.requests == served  # nothing asked at all

    move_clock(home, SESSION / 2 + 60)  # past half of the session's life: a refresh
    helper.get(REGISTRY, environment)
    assert token_requests(fake) == 2

    move_clock(home, SESSION + 60)  # the session has ended; ECR's expiry is hours away
    fake.add_fault(Fault(operation="GetAuthorizationToken", code="ServerException", status=500))
    result = helper.run("get", stdin=REGISTRY, env=environment)
    assert result.returncode == 1, result.stdout  # never served, not even stale-if-error
    assert result.stdout.startswith("ecrpy: ") and "123456789012-auth-token" not in result.stdout
    assert json.loads(helper.run("list", env=environment).stdout) == {}


@pytest.fixture
def environment(helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path) -> dict[str, str]:
    """A pod's web identity role whose sessions last SESSION, and its first token cached."""
    fake.session_lifetime = SESSION
    pod = web_identity(env, home, fake)
    helper.get(REGISTRY, pod)
    return pod


def test_a_failed_refresh_serves_a_token_whose_session_is_still_on(
    helper: Helper, fake: FakeAWS, home: Path, environment: dict[str, str]
) -> None:
    move_clock(home, SESSION / 2 + 60)  # due, with some 14 minutes of session left
    fake.add_fault(Fault(operation="AssumeRoleWithWebIdentity", code="ServiceUnavailable"))
    assert helper.get(REGISTRY, environment)["Secret"] == "123456789012-auth-token"


def test_a_session_shorter_than_stss_floor_refreshes_once_per_half_session(
    helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path
) -> None:
    fake.session_lifetime = 600  # 10 minutes: shorter than STS allows, as a fake may
    environment = profile_role(env, home, fake)
    helper.get(REGISTRY, environment)
    for _ in range(3):
        helper.get(REGISTRY, environment)
    assert token_requests(fake) == 1  # one fetch for the first half of the session
    move_clock(home, 310)
    helper.get(REGISTRY, environment)
    helper.get(REGISTRY, environment)
    assert token_requests(fake) == 2  # and one more for the next


def test_long_term_keys_keep_ecrs_twelve_hours(
    helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path
) -> None:
    helper.get(REGISTRY, env)
    cached = json.loads(entry_path(home).read_text())
    assert "session_expires_at" not in cached
    move_clock(home, 5 * 3600)  # five hours on: still in the first half of the token's life
    helper.get(REGISTRY, env)
    assert token_requests(fake) == 1


def test_an_entry_of_an_earlier_version_is_read_as_before(
    helper: Helper, fake: FakeAWS, home: Path, environment: dict[str, str]
) -> None:
    path = entry_path(home)
    data = json.loads(path.read_text())
    del data["session_expires_at"]  # what ecrpy wrote before it knew sessions
    path.write_text(json.dumps(data))
    move_clock(home, SESSION)  # the session is over, but this entry does not know it
    asked = len(fake.requests)
    assert helper.get(REGISTRY, environment)["Secret"] == "123456789012-auth-token"
    assert len(fake.requests) == asked  # a hit, as before


def test_whoami_and_export_see_the_sessions_end(
    helper: Helper, fake: FakeAWS, home: Path, environment: dict[str, str]
) -> None:
    cached = json.loads(entry_path(home).read_text())
    ends = datetime.datetime.fromtimestamp(cached["session_expires_at"], datetime.timezone.utc)
    shown = helper.run("whoami", REGISTRY, env=environment).stdout
    assert f"token valid until {ends:%Y-%m-%d %H:%M}" in shown, shown
    result = helper.run("export", REGISTRY, "--min-validity", "2h", env=environment)
    assert result.returncode == 1
    assert "the AWS session that minted it ends" in result.stderr


def test_an_entrys_life_is_the_earlier_of_its_token_and_its_session() -> None:
    from credential_helper.cache import Entry, decode, is_fresh

    entry = Entry(REGISTRY, "id", "AWS", "pw", 43200.0, 0.0, 3600.0)
    assert (entry.expires_at, entry.token_expires_at) == (3600.0, 43200.0)
    assert is_fresh(entry, 1799.0) and not is_fresh(entry, 1801.0)  # half of the session
    again = decode(entry.encode())
    assert again is not None and (again.expires_at, again.session_expires_at) == (3600.0, 3600.0)
    longer = Entry(REGISTRY, "id", "AWS", "pw", 43200.0, 0.0, 86400.0)
    assert longer.expires_at == 43200.0  # a session longer than the token: the token's own
    data = json.loads(entry.encode())
    for broken in ("soon", True, None, [1]):
        data["session_expires_at"] = broken
        assert (decode(json.dumps(data)) is None) == (broken is not None)
