"""``login`` on a real pseudo-terminal: botocore's MFA prompt answered, SSO renewal named.

The helper runs as a process whose controlling terminal is a pty (``pty.fork``), as in a user's
shell: botocore's prompt for the MFA code goes to that terminal and the test types the code. The
fake STS accepts the AssumeRole only with the code registered for the device.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS
from tests.conftest import ACCESS_KEY, REGISTRY, SECRET_KEY, Helper, helper_path

ROLE = "arn:aws:iam::123456789012:role/ecr-push"
DEVICE = "arn:aws:iam::123456789012:mfa/me"
CODE = "424242"
PASSWORD = "123456789012-auth-token"
GUARD = 60.0  # seconds without any output before the test gives up (a hang, not a timing)


def on_terminal(argv: list[str], env: dict[str, str], answers: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` with a pty as its terminal; type each answer when its prompt shows."""
    pid, master = pty.fork()
    if pid == 0:  # the child: its stdin, stdout, stderr and /dev/tty are the pty
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    shown, pending = b"", dict(answers)
    try:
        while True:
            ready, _, _ = select.select([master], [], [], GUARD)
            if not ready:
                raise AssertionError(f"no output for {GUARD:.0f} s; so far:\n{shown.decode()}")
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            for prompt in list(pending):
                if prompt.encode() in shown:
                    os.write(master, pending.pop(prompt).encode() + b"\n")
    finally:
        os.close(master)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.fixture
def mfa_env(env: dict[str, str], home: Path, fake: FakeAWS) -> dict[str, str]:
    """A profile ``mfa`` whose role needs an MFA code, its base keys in the credentials file."""
    aws = home / ".aws"
    aws.mkdir()
    (aws / "config").write_text(
        f"[profile mfa]\nrole_arn = {ROLE}\nsource_profile = base\nmfa_serial = {DEVICE}\n"
        "region = us-east-1\n"
    )
    (aws / "credentials").write_text(
        f"[base]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    fake.add_mfa_device(DEVICE, CODE)
    environment = {k: v for k, v in env.items() if not k.startswith("AWS_ACCESS_KEY_ID")}
    environment.pop("AWS_SECRET_ACCESS_KEY")
    environment["AWS_PROFILE"] = "mfa"
    return environment


def test_login_answers_the_mfa_prompt_and_later_gets_are_cache_hits(
    mfa_env: dict[str, str], fake: FakeAWS, helper: Helper
) -> None:
    code, shown = on_terminal(
        [helper_path(), "login", REGISTRY], mfa_env, {f"Enter MFA code for {DEVICE}": CODE}
    )
    assert code == 0, shown
    assert f"✔ {REGISTRY}: token cached, valid until " in shown
    assert "(1 h)" in shown  # not ECR's 12 hours: the token dies with the role's 1-hour session
    assumed = [(r.role_arn, r.serial_number, r.token_code) for r in fake.requests]
    assert (ROLE, DEVICE, CODE) in assumed
    assert CODE not in shown.split("Enter MFA code", 1)[1]  # not echoed
    before = len(fake.requests)
    result = helper.run("get", stdin=REGISTRY, env=mfa_env)  # Docker's: no terminal at all
    assert result.returncode == 0 and PASSWORD in result.stdout
    assert len(fake.requests) == before  # a cache hit: no STS, no ECR, no prompt


def test_a_wrong_mfa_code_is_one_line_naming_the_role(
    mfa_env: dict[str, str], fake: FakeAWS
) -> None:
    code, shown = on_terminal(
        [helper_path(), "login", REGISTRY], mfa_env, {"Enter MFA code": "000000"}
    )
    assert code == 1
    (line,) = [line for line in shown.splitlines() if line.startswith("✗")]
    assert line == (
        f"✗ {REGISTRY}: STS refused AssumeRole for the AWS profile used for {REGISTRY}: "
        "AccessDenied: MultiFactorAuthentication failed with invalid MFA one time pass code."
    )
    assert SECRET_KEY not in shown and fake.count("GetAuthorizationToken") == 0


def test_login_serves_every_registry_docker_sends_to_ecrpy_with_one_prompt(
    mfa_env: dict[str, str], fake: FakeAWS, home: Path
) -> None:
    other = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
    (home / ".docker").mkdir()
    (home / ".docker" / "config.json").write_text(
        f'{{"credHelpers": {{"{REGISTRY}": "ecrpy", "{other}": "ecrpy", "docker.io": "desktop"}}}}'
    )
    code, shown = on_terminal([helper_path(), "login"], mfa_env, {"Enter MFA code": CODE})
    assert code == 0, shown
    assert shown.count("Enter MFA code") == 1  # the role is assumed once for both
    assert f"✔ {REGISTRY}: token cached" in shown and f"✔ {other}: token cached" in shown
    assert "docker.io" not in shown


def test_an_sso_profile_without_a_session_gets_the_command_that_starts_one(
    env: dict[str, str], home: Path, fake: FakeAWS
) -> None:
    (home / ".aws").mkdir()
    (home / ".aws" / "config").write_text(
        "[profile corp]\nsso_session = corp\nsso_account_id = 123456789012\n"
        "sso_role_name = ecr\nregion = us-east-1\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = us-east-1\n"
    )
    environment = {
        k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    environment["AWS_PROFILE"] = "corp"
    code, shown = on_terminal([helper_path(), "login", REGISTRY], environment, {})
    assert code == 1
    assert shown.strip() == (
        f"✗ {REGISTRY}: the AWS SSO session of profile corp has expired or was never started: "
        "run `aws sso login --profile corp`, then docker-credential-ecrpy login again"
    )
    assert fake.requests == []


def test_without_a_terminal_login_says_so_in_one_line(
    mfa_env: dict[str, str], fake: FakeAWS, helper: Helper
) -> None:
    result = helper.run("login", REGISTRY, env=mfa_env)
    assert result.returncode == 1
    assert (
        result.stdout.startswith("ecrpy: login needs a terminal") and result.stdout.count("\n") == 1
    )
    assert fake.requests == []


def test_login_names_what_it_cannot_serve(env: dict[str, str], fake: FakeAWS) -> None:
    code, shown = on_terminal([helper_path(), "login", "docker.io"], env, {})
    assert code == 1
    assert (
        shown.strip() == "✗ docker.io: not an Amazon ECR registry nor an alias in ecrpy's settings"
    )


def test_a_get_that_would_need_an_mfa_code_names_login(
    mfa_env: dict[str, str], fake: FakeAWS, helper: Helper
) -> None:
    """Docker's get has no terminal: botocore's prompt reads the end of stdin. One line says why,
    and what to run."""
    result = subprocess.run(
        ["setsid", helper_path(), "get"],  # no controlling terminal, as under dockerd or CI
        input=REGISTRY,
        env=mfa_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == (
        f"ecrpy: the AWS profile used for {REGISTRY} asks for an MFA code, and nothing can answer "
        "it here (no terminal): run 'docker-credential-ecrpy login' in a terminal first; the "
        "tokens it caches serve the next hours\n"
    )
    assert fake.count("AssumeRole") == 0
