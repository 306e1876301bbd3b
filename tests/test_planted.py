"""A FIFO planted where ecrpy opens a file by name: ``get`` still answers, and says why.

``open()`` on a FIFO waits for the other end, forever, and with it every ``docker pull``. Each
test plants one at one of the paths ecrpy opens and runs the real helper as Docker does; the
subprocess timeout is the bound (a hang fails the test, it is never timed).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS
from tests.conftest import REGISTRY, Helper, cache_dir

PASSWORD = "123456789012-auth-token"
BOUND = 15  # seconds: a get takes well under one; a FIFO waited on never returns


def get(helper: Helper, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return helper.run("get", stdin=REGISTRY, env=env, timeout=BOUND)


def served(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0 and json.loads(result.stdout)["Secret"] == PASSWORD


def entry_file(helper: Helper, env: dict[str, str], suffix: str) -> Path:
    """``<cache>/<registry>.<fingerprint><suffix>`` of this identity, after one get and an erase."""
    assert served(get(helper, env))
    (entry,) = cache_dir(env).glob("*.json")
    assert helper.run("erase", stdin=REGISTRY, env=env).returncode == 0
    return entry.with_name(entry.name[: -len(".json")] + suffix)


def plant(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mkfifo(path, 0o600)
    return path


def log_text(env: dict[str, str]) -> str:
    return (cache_dir(env) / "ecrpy.log").read_text()


@pytest.mark.parametrize(
    ("suffix", "warning"),
    [
        (".json", "cache file {} is not a private file of this user: ignored"),  # a miss
        (".fail", "cache file {} is not a private file of this user: ignored"),  # no failure
        (".lock", "cannot open lock {}: not a regular file; going on unlocked"),
    ],
    ids=["token-file", "failure-record", "lock-file"],
)
def test_a_fifo_in_the_cache_is_never_waited_on(
    helper: Helper, env: dict[str, str], fake: FakeAWS, suffix: str, warning: str
) -> None:
    fifo = plant(entry_file(helper, env, suffix))
    assert served(get(helper, env))
    assert warning.format(fifo) in log_text(env)
    assert fake.count("GetAuthorizationToken") == 2
    if suffix == ".json":
        assert fifo.is_file()  # replaced by a real entry, atomically
        assert served(get(helper, env)) and fake.count("GetAuthorizationToken") == 2


@pytest.mark.parametrize("reader", [False, True], ids=["no-reader", "a-reader-holds-it"])
def test_a_fifo_at_the_log_file_means_logging_to_stderr(
    helper: Helper, env: dict[str, str], fake: FakeAWS, reader: bool
) -> None:
    fifo = plant(cache_dir(env) / "ecrpy.log")
    os.chmod(cache_dir(env), 0o700)
    env["ECRPY_LOG_LEVEL"] = "info"
    held = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK) if reader else None
    try:
        result = get(helper, env)
    finally:
        if held is not None:
            os.close(held)
    assert served(result)
    assert result.stderr.startswith(
        f"ecrpy: WARNING log file {fifo} refused (not a regular file): logging to stderr\n"
    )
    assert "ecrpy: INFO refresh" in result.stderr


def test_a_fifo_as_the_settings_file_is_a_clear_error_on_the_cold_path(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    assert served(get(helper, env))  # cached while there were no settings
    fifo = plant(Path(env["HOME"]) / ".config" / "ecrpy" / "config.toml")
    assert served(get(helper, env))  # counted as missing: the same identity, from the cache
    assert helper.run("erase", stdin=REGISTRY, env=env).returncode == 0
    result = get(helper, env)
    line = f"ecrpy: cannot read ecrpy config {fifo}: not a regular file\n"
    assert (result.returncode, result.stdout, result.stderr) == (1, line, line)


@pytest.mark.parametrize("name", ["config", "credentials"])
def test_a_fifo_as_an_aws_file_is_a_clear_error_on_the_cold_path(
    helper: Helper, env: dict[str, str], fake: FakeAWS, name: str
) -> None:
    assert served(get(helper, env))
    fifo = plant(Path(env["HOME"]) / ".aws" / name)
    assert served(get(helper, env))  # the fingerprint counts it as missing: warm, no botocore
    assert helper.run("erase", stdin=REGISTRY, env=env).returncode == 0
    result = get(helper, env)
    line = (
        f"ecrpy: the AWS file {fifo} is not a regular file (a FIFO, socket or device): "
        "ecrpy will not let botocore read it; replace it with a regular file\n"
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, line, line)
    assert fake.count("GetAuthorizationToken") == 1


def test_a_symlinked_aws_file_is_still_read(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path
) -> None:
    """Secret mounts and dotfile managers symlink them: followed, as botocore follows them."""
    real = tmp_path / "mounted-credentials"
    real.write_text("[default]\naws_access_key_id = AKIAFROMTHEFILE00001\n")
    (Path(env["HOME"]) / ".aws").mkdir()
    (Path(env["HOME"]) / ".aws" / "credentials").symlink_to(real)
    assert served(get(helper, env))
    real.write_text("[default]\naws_access_key_id = AKIAFROMTHEFILE00002\n")
    assert served(get(helper, env))
    assert fake.count("GetAuthorizationToken") == 2  # its content is part of the identity


def test_a_fifo_in_place_of_docker_s_config_is_an_error_not_a_hang(
    helper: Helper, env: dict[str, str], tmp_path: Path
) -> None:
    """configure and doctor read Docker's config.json: a FIFO there is one line, never a wait."""
    docker = tmp_path / "docker"
    docker.mkdir()
    os.mkfifo(docker / "config.json")
    env["DOCKER_CONFIG"] = str(docker)
    for args in (("configure", "--dry-run", REGISTRY), ("doctor",)):
        result = helper.run(*args, env=env, timeout=15)
        assert result.returncode == 1, result.stdout
        assert "not a regular file" in result.stdout, result.stdout
        assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("variable", ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"])
def test_dev_null_as_an_aws_file_is_an_empty_file(
    helper: Helper, env: dict[str, str], fake: FakeAWS, variable: str
) -> None:
    """``AWS_CONFIG_FILE=/dev/null`` is CI's usual "no AWS files": botocore reads it as empty,
    and so does ecrpy (the fingerprint, and the check before botocore), cold and warm."""
    env[variable] = os.devnull
    for _ in range(2):
        result = get(helper, env)
        assert served(result), result.stdout
        assert result.stderr == ""
    assert fake.count("GetAuthorizationToken") == 1  # the second get was warm


@pytest.mark.parametrize("variable", ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"])
def test_other_devices_as_an_aws_file_are_still_refused(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path, variable: str
) -> None:
    """Only the null device is an empty file: /dev/zero (which never ends), a FIFO and a
    socket are refused before botocore could read them."""
    import socket

    fifo = plant(tmp_path / "fifo")
    sock_path = tmp_path / "sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(sock_path))
    try:
        for path in ("/dev/zero", str(fifo), str(sock_path)):
            env[variable] = path
            result = get(helper, env)
            line = (
                f"ecrpy: the AWS file {path} is not a regular file (a FIFO, socket or device): "
                "ecrpy will not let botocore read it; replace it with a regular file\n"
            )
            assert (result.returncode, result.stdout, result.stderr) == (1, line, line)
    finally:
        listener.close()
    assert fake.count("GetAuthorizationToken") == 0


def test_a_link_to_dev_null_is_the_null_device_too(
    helper: Helper, env: dict[str, str], fake: FakeAWS, tmp_path: Path
) -> None:
    link = tmp_path / "credentials"
    link.symlink_to(os.devnull)
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(link)
    assert served(get(helper, env))
