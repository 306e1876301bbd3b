"""Shared fixtures: a fake AWS on loopback, a clean environment, the installed helper as a process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakeaws.server import FakeAWS, Server

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
ACCESS_KEY = "AKIAECRPYTESTKEY0001"
SECRET_KEY = "ecrpy-test-secret-key-do-not-print-0001"


def helper_path() -> str:
    """The installed console script, as Docker runs it."""
    beside = Path(sys.executable).with_name("docker-credential-ecrpy")
    found = str(beside) if beside.exists() else shutil.which("docker-credential-ecrpy")
    if not found:
        pytest.fail("docker-credential-ecrpy is not installed (run `make test`, which installs it)")
    return found


@pytest.fixture(scope="session")
def fake_server() -> Iterator[Server]:
    with Server() as server:
        yield server


@pytest.fixture
def fake(fake_server: Server) -> Iterator[FakeAWS]:
    """The fake AWS, with no requests recorded and no faults, for one test."""
    fake_server.app.reset()
    yield fake_server.app
    fake_server.app.reset()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def env(home: Path, fake_server: Server, fake: FakeAWS) -> dict[str, str]:
    """A clean environment: static test keys, the fake's endpoints, nothing from this machine."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_EC2_METADATA_DISABLED": "true",
        **fake_server.environment(),
    }


class Helper:
    """Runs ``docker-credential-ecrpy`` as Docker does: action in argv, payload on stdin."""

    def __init__(self, path: str) -> None:
        self.path = path

    def run(
        self, *args: str, stdin: str | bytes = b"", env: dict[str, str], timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        result = subprocess.run(
            [self.path, *args],
            input=data,
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        return subprocess.CompletedProcess(
            result.args,
            result.returncode,
            result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"),
        )

    def get(self, server_url: str, env: dict[str, str]) -> dict[str, Any]:
        result = self.run("get", stdin=server_url, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer


@pytest.fixture(scope="session")
def helper() -> Helper:
    return Helper(helper_path())


@pytest.fixture
def docker_env(env: dict[str, str], helper: Helper) -> dict[str, str]:
    """The env with the helper on PATH, as after `pipx install`."""
    return {**env, "PATH": f"{Path(helper.path).parent}:{env['PATH']}"}


def cache_dir(env: dict[str, str]) -> Path:
    """The token cache of this environment's user (the default place under HOME)."""
    return Path(env["HOME"]) / ".cache" / "ecrpy"


def ecr_calls(fake: FakeAWS) -> list[tuple[str, list[str]]]:
    """Every GetAuthorizationToken the fake answered: the caller's access key, the ids asked."""
    return [
        (r.access_key, r.registry_ids)
        for r in fake.requests
        if r.operation == "GetAuthorizationToken"
    ]
