"""An AWS error that echoes a secret ecrpy holds never gets it past ecrpy, whatever its source.

The fake's echo fault answers with an error whose message repeats the request (headers, session
token included) and the secret key that signed it: what a proxy in the middle, or a careless
future AWS error, could print back. Every secret in hand must come out as ``***`` on stdout,
stderr, in the failure record the waiting processes read, and in ``ecrpy.log``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3
import pytest

from fakeaws.server import FakeAWS, Fault
from tests.conftest import ACCESS_KEY, SECRET_KEY, Helper

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
FILED_KEY = "AKIAFILEDSTATICKEY01"
FILED_SECRET = "filed-static-secret-from-the-credentials-file/0001+x="
FILED_TOKEN = "filed-session-token-from-the-credentials-file/0001+x=="
BASE_KEY = "AKIABASEOFTHECHAIN01"
BASE_SECRET = "source-profile-secret-of-the-chain/0002+y="
CHAIN_ROLE = "arn:aws:iam::123456789012:role/deploy"
SETTINGS_ROLE = "arn:aws:iam::123456789012:role/ecr-push"


def without_env_keys(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def filed_static(env: dict[str, str], home: Path, fake: FakeAWS) -> dict[str, str]:
    """Static keys (with a session token) in the shared credentials file, by AWS_PROFILE."""
    write(
        home / ".aws" / "credentials",
        f"[filed]\naws_access_key_id = {FILED_KEY}\naws_secret_access_key = {FILED_SECRET}\n"
        f"aws_session_token = {FILED_TOKEN}\n",
    )
    fake.secrets[FILED_KEY] = FILED_SECRET
    return {**without_env_keys(env), "AWS_PROFILE": "filed"}


def source_profile_chain(env: dict[str, str], home: Path, fake: FakeAWS) -> dict[str, str]:
    """A profile with role_arn and source_profile: botocore assumes the role with base's keys."""
    write(
        home / ".aws" / "credentials",
        f"[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n",
    )
    write(
        home / ".aws" / "config",
        f"[profile deploy]\nrole_arn = {CHAIN_ROLE}\nsource_profile = base\n",
    )
    fake.secrets[BASE_KEY] = BASE_SECRET
    return {**without_env_keys(env), "AWS_PROFILE": "deploy"}


def settings_role(env: dict[str, str], home: Path, fake: FakeAWS) -> dict[str, str]:
    """A role of ecrpy's own settings file, assumed by ecrpy with the environment's keys."""
    write(
        home / ".config" / "ecrpy" / "config.toml",
        f'[registries."123456789012"]\nrole_arn = "{SETTINGS_ROLE}"\n',
    )
    fake.secrets[ACCESS_KEY] = SECRET_KEY
    return env


WEB_IDENTITY_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJlY2hvIn0.c2lnbmF0dXJlLWVjaG8"


def web_identity(env: dict[str, str], home: Path, fake: FakeAWS) -> dict[str, str]:
    """EKS IRSA: AWS_ROLE_ARN and a token file; botocore sends the token to STS."""
    write(home / "token", WEB_IDENTITY_TOKEN)
    return {
        **without_env_keys(env),
        "AWS_ROLE_ARN": CHAIN_ROLE,
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(home / "token"),
    }


SETUPS = {
    "web-identity": web_identity,
    "shared-credentials-file": filed_static,
    "source-profile-chain": source_profile_chain,
    "ecrpy-settings-role": settings_role,
}


def outputs(result: subprocess.CompletedProcess[str], home: Path) -> dict[str, str]:
    cache = home / ".cache" / "ecrpy"
    seen = {"stdout": result.stdout, "stderr": result.stderr}
    for path in [*sorted(cache.glob("*.fail")), cache / "ecrpy.log"]:
        seen[path.name] = path.read_text()
    return seen


@pytest.mark.parametrize(
    ("setup", "operation"),
    [
        ("shared-credentials-file", "GetAuthorizationToken"),
        ("source-profile-chain", "AssumeRole"),
        ("source-profile-chain", "GetAuthorizationToken"),
        ("ecrpy-settings-role", "AssumeRole"),
        ("ecrpy-settings-role", "GetAuthorizationToken"),
        ("web-identity", "AssumeRoleWithWebIdentity"),
        ("web-identity", "GetAuthorizationToken"),
    ],
)
def test_an_echoed_secret_is_redacted_everywhere(
    helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path, setup: str, operation: str
) -> None:
    environ = {**SETUPS[setup](env, home, fake), "ECRPY_LOG_LEVEL": "debug"}
    code = "AccessDeniedException" if operation == "GetAuthorizationToken" else "AccessDenied"
    fake.add_fault(Fault(operation=operation, code=code, message="no", echo=True))
    result = helper.run("get", stdin=REGISTRY, env=environ)
    assert result.returncode == 1
    secrets = [FILED_SECRET, FILED_TOKEN, BASE_SECRET, SECRET_KEY, WEB_IDENTITY_TOKEN]
    secrets += [*fake.session_tokens.values(), *fake.secrets.values()]  # the roles' too
    seen = outputs(result, home)
    assert set(seen) >= {"stdout", "stderr", "ecrpy.log"} and any(n.endswith(".fail") for n in seen)
    for where, text in seen.items():
        assert "signed by " in text and "***" in text, (where, text)  # the echo is there ...
        for secret in secrets:
            assert secret not in text, (where, secret)  # ... without a single secret


def test_the_echo_fault_does_echo(fake: FakeAWS, helper: Helper, env: dict[str, str]) -> None:
    """The fake really repeats the secret: without redaction it would be printed."""
    fake.secrets[ACCESS_KEY] = SECRET_KEY
    fake.add_fault(
        Fault(operation="GetAuthorizationToken", code="AccessDeniedException", echo=True)
    )

    client = boto3.client(
        "ecr",
        region_name="us-east-1",
        endpoint_url=env["AWS_ENDPOINT_URL_ECR"],
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token="the-session-token-0003",
    )
    with pytest.raises(client.exceptions.ClientError) as caught:
        client.get_authorization_token()
    message = caught.value.response["Error"]["Message"]
    assert SECRET_KEY in message and "the-session-token-0003" in message
