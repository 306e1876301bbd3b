"""The identity fingerprint: what must change it, what must not, and that it hides its inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from credential_helper import identity, paths

BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAAAAAAAAAAAAAAAAA",
    "AWS_SECRET_ACCESS_KEY": "secret-one-0123456789",
    "HOME": "/home/user",
    "PATH": "/usr/bin",
}
FILES = [
    ("/home/user/.aws/config", b"[default]\nregion = eu-west-1\n"),
    ("/home/user/.aws/credentials", None),
]


def fp(env: dict[str, str], files: list[tuple[str, bytes | None]] = FILES) -> str:
    return identity.fingerprint(identity.identity_env(env), files)


def test_same_inputs_give_the_same_fingerprint() -> None:
    assert fp(dict(BASE_ENV)) == fp(dict(reversed(list(BASE_ENV.items()))))


@pytest.mark.parametrize(
    "change",
    [
        {"AWS_ACCESS_KEY_ID": "AKIABBBBBBBBBBBBBBBB"},
        {"AWS_SECRET_ACCESS_KEY": "secret-two-0123456789"},
        {"AWS_SESSION_TOKEN": "session"},
        {"AWS_PROFILE": "prod"},
        {"AWS_DEFAULT_PROFILE": "prod"},
        {"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/ci"},
        {"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"},
        {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"},
        {"AWS_ENDPOINT_URL_ECR": "http://127.0.0.1:5000"},
        {"AWS_SOME_FUTURE_SETTING": "1"},  # unknown AWS_* variables count, to be safe
        {"ECRPY_CONFIG": "/etc/ecrpy.toml"},
    ],
)
def test_anything_that_can_change_the_identity_changes_the_fingerprint(
    change: dict[str, str],
) -> None:
    assert fp({**BASE_ENV, **change}) != fp(BASE_ENV)


@pytest.mark.parametrize(
    "change",
    [
        {"AWS_REGION": "us-west-2"},
        {"AWS_DEFAULT_REGION": "us-west-2"},
        {"AWS_ECR_CACHE_DIR": "/tmp/x"},
        {"ECRPY_LOG_LEVEL": "debug"},
        {"PATH": "/bin"},
        {"HOME": "/elsewhere"},
    ],
)
def test_settings_that_do_not_change_who_you_are_keep_the_fingerprint(
    change: dict[str, str],
) -> None:
    assert fp({**BASE_ENV, **change}) == fp(BASE_ENV)


def test_file_contents_count_and_missing_differs_from_empty() -> None:
    edited = [(FILES[0][0], b"[default]\nregion = eu-west-1\n[profile prod]\n"), FILES[1]]
    empty = [FILES[0], (FILES[1][0], b"")]
    assert len({fp(BASE_ENV), fp(BASE_ENV, edited), fp(BASE_ENV, empty)}) == 3


def test_fields_cannot_run_into_each_other() -> None:
    a = identity.fingerprint([("AWS_A", "bc")], [])
    b = identity.fingerprint([("AWS_Ab", "c")], [])
    assert a != b


def test_the_fingerprint_does_not_reveal_the_secret() -> None:
    value = fp(BASE_ENV)
    assert len(value) == 32 and all(ch in "0123456789abcdef" for ch in value)
    assert BASE_ENV["AWS_SECRET_ACCESS_KEY"] not in value


def test_current_reads_the_files_botocore_would_read(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\n")
    env = {
        **BASE_ENV,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    before = identity.current(env)
    assert identity.current(env) == before
    config.write_text("[default]\nrole_arn = arn:aws:iam::123456789012:role/x\n")
    assert identity.current(env) != before


def test_default_files_live_under_home() -> None:
    assert paths.aws_files({"HOME": "/h"}) == ("/h/.aws/config", "/h/.aws/credentials")
