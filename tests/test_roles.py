"""Cross-account roles and per-registry identities, through the installed helper and the fake AWS."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from fakeaws.imds import CREDENTIALS_PATH, CredentialEndpoints
from fakeaws.server import FakeAWS, Fault
from tests.conftest import ACCESS_KEY, SECRET_KEY, Helper, ecr_calls

ETL = "210987654321.dkr.ecr.us-east-1.amazonaws.com"
DATA = "333344445555.dkr.ecr.eu-west-1.amazonaws.com"
ETL_ROLE = "arn:aws:iam::210987654321:role/ecr-push"
DATA_ROLE = "arn:aws:iam::333344445555:role/ecr-read"
SETTINGS = f"""
[registries."{ETL}"]
role_arn = "{ETL_ROLE}"
external_id = "jenkins"

[registries."333344445555"]
role_arn = "{DATA_ROLE}"
role_session_name = "ci-runner"
"""


@pytest.fixture
def settings_file(home: Path, env: dict[str, str]) -> Path:
    path = home / ".config" / "ecrpy" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(SETTINGS)
    return path


def test_two_registries_two_roles_and_warm_calls_make_no_request(
    helper: Helper, env: dict[str, str], fake: FakeAWS, settings_file: Path
) -> None:
    assert helper.get(ETL, env)["Secret"] == "210987654321-auth-token"
    assert helper.get(DATA, env)["Secret"] == "333344445555-auth-token"
    assumed = [(r.role_arn, r.access_key) for r in fake.requests if r.operation == "AssumeRole"]
    assert assumed == [(ETL_ROLE, ACCESS_KEY), (DATA_ROLE, ACCESS_KEY)]  # base identity assumes
    (etl_key, etl_ids), (data_key, data_ids) = ecr_calls(fake)
    assert (fake.role_of(etl_key), etl_ids) == (ETL_ROLE, ["210987654321"])
    assert (fake.role_of(data_key), data_ids) == (DATA_ROLE, ["333344445555"])
    before = len(fake.requests)
    for _ in range(3):
        helper.get(ETL, env)
        helper.get(f"https://{DATA}/v2/", env)
    assert len(fake.requests) == before  # no STS and no ECR call when warm


def test_editing_the_settings_is_a_new_identity(
    helper: Helper, env: dict[str, str], fake: FakeAWS, settings_file: Path
) -> None:
    helper.get(ETL, env)
    settings_file.write_text(SETTINGS.replace("jenkins", "jenkins-2"))
    helper.get(ETL, env)
    assert fake.count("AssumeRole") == 2 and fake.count("GetAuthorizationToken") == 2


def test_a_role_that_cannot_be_assumed_names_role_and_registry(
    helper: Helper, env: dict[str, str], fake: FakeAWS, settings_file: Path
) -> None:
    fake.add_fault(
        Fault(
            operation="AssumeRole",
            role_arn=ETL_ROLE,
            code="AccessDenied",
            message="User is not authorized to perform: sts:AssumeRole",
        )
    )
    result = helper.run("get", stdin=ETL, env=env)
    assert result.returncode == 1 and result.stdout.count("\n") == 1
    assert result.stdout.startswith(f"ecrpy: could not assume role {ETL_ROLE} for {ETL}: ")
    assert "AccessDenied: User is not authorized" in result.stdout and "ECR" not in result.stdout
    assert fake.count("GetAuthorizationToken") == 0
    assert helper.get(DATA, env)["Secret"] == "333344445555-auth-token"  # the other role works


def test_a_broken_settings_file_is_one_line_naming_file_line_and_key(
    helper: Helper, env: dict[str, str], fake: FakeAWS, settings_file: Path
) -> None:
    settings_file.write_text(f'[registries."{ETL}"]\nrole = "{ETL_ROLE}"\n')
    result = helper.run("get", stdin=ETL, env=env)
    assert result.returncode == 1 and result.stdout.count("\n") == 1
    assert str(settings_file) in result.stdout and "line 2" in result.stdout
    assert "'role'" in result.stdout and "Traceback" not in result.stdout + result.stderr


def test_a_profile_with_role_and_source_profile_works_untouched(
    helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path
) -> None:
    """botocore's own role chaining, with no ecrpy settings: the seed's cross-account set-up."""
    aws = home / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text(
        f"[main]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    (aws / "config").write_text(f"[profile etl]\nrole_arn = {ETL_ROLE}\nsource_profile = main\n")
    env = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env["AWS_PROFILE"] = "etl"
    assert helper.get(ETL, env)["Secret"] == "210987654321-auth-token"
    ((key, _),) = ecr_calls(fake)
    assert fake.role_of(key) == ETL_ROLE
    helper.get(ETL, env)
    assert fake.count("AssumeRole") == 1 and fake.count("GetAuthorizationToken") == 1


INSTANCE_KEY = "ASIAINSTANCEROLE0001"
INSTANCE_ROLE = "arn:aws:iam::123456789012:role/ecrpy-instance-role"


def test_an_instance_role_with_no_keys_anywhere(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    env = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    del env["AWS_EC2_METADATA_DISABLED"]
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=6)
    keys = {
        "AccessKeyId": INSTANCE_KEY,
        "SecretAccessKey": "instance-role-secret",
        "SessionToken": "instance-role-session",
        "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    role_path = CREDENTIALS_PATH + INSTANCE_ROLE.rsplit("/", 1)[-1]
    with CredentialEndpoints() as imds:
        imds.serve(INSTANCE_ROLE, keys)
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.url
        assert helper.get(ETL, env)["Secret"] == "210987654321-auth-token"
        assert ecr_calls(fake) == [(INSTANCE_KEY, ["210987654321"])]
        asked = imds.requests[role_path]
        helper.get(ETL, env)
        assert imds.requests[role_path] == asked  # warm: not even the metadata service
    assert fake.count("GetAuthorizationToken") == 1


def test_whoami_shows_settings_profile_and_role_without_secrets(
    helper: Helper, env: dict[str, str], fake: FakeAWS, settings_file: Path
) -> None:
    result = helper.run("whoami", ETL, env=env)
    assert result.returncode == 0, result.stdout
    assert f'registries."{ETL}" in {settings_file}' in result.stdout
    assert ETL_ROLE in result.stdout and "external id set" in result.stdout
    assert "jenkins" not in result.stdout and SECRET_KEY not in result.stdout
    assert fake.requests == []  # without --check, whoami asks AWS nothing


def test_whoami_check_asks_aws_who_the_caller_is(
    helper: Helper, env: dict[str, str], fake: FakeAWS, settings_file: Path
) -> None:
    result = helper.run("whoami", DATA, "--check", env=env)
    assert result.returncode == 0, result.stdout
    assert "assumed-role/ecr-read/ci-runner" in result.stdout
    assert "ECR hands out a token" in result.stdout
    assert "333344445555-auth-token" not in result.stdout and SECRET_KEY not in result.stdout


def test_whoami_check_reports_a_denied_token(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    fake.add_fault(Fault(operation="GetAuthorizationToken", code="AccessDeniedException"))
    result = helper.run("whoami", ETL, "--check", env=env)
    assert result.returncode == 1
    assert "✗" in result.stdout and "AccessDeniedException" in result.stdout


def test_whoami_of_a_registry_that_is_not_ecr(helper: Helper, env: dict[str, str]) -> None:
    result = helper.run("whoami", "ghcr.io", env=env)
    assert result.returncode == 1 and "not an Amazon ECR registry" in result.stdout


def test_list_is_per_identity_with_settings(
    helper: Helper, env: dict[str, str], fake: FakeAWS, settings_file: Path
) -> None:
    helper.get(ETL, env)
    assert json.loads(helper.run("list", env=env).stdout) == {f"https://{ETL}": "AWS"}


def test_web_identity_warm_get_survives_token_rotation_with_no_sts_call(
    helper: Helper, env: dict[str, str], fake: FakeAWS, home: Path
) -> None:
    """EKS IRSA: the platform rewrites the token file hourly; the identity is the role."""
    token_file = home / "web-identity-token"
    token_file.write_text("eyJhbGciOiJSUzI1NiJ9.first.signature")
    env = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env["AWS_ROLE_ARN"] = ETL_ROLE
    env["AWS_WEB_IDENTITY_TOKEN_FILE"] = str(token_file)
    assert helper.get(ETL, env)["Secret"] == "210987654321-auth-token"
    assert fake.count("AssumeRoleWithWebIdentity") == 1
    ((key, _),) = ecr_calls(fake)
    assert fake.role_of(key) == ETL_ROLE
    token_file.write_text("eyJhbGciOiJSUzI1NiJ9.rotated.signature")
    helper.get(ETL, env)
    assert fake.count("AssumeRoleWithWebIdentity") == 1 and fake.count("GetAuthorizationToken") == 1
