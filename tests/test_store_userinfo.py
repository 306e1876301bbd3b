"""A ``store`` whose server URL carries a user name and password (``https://user:pass@host``) is
refused for every registry, and no answer, error or log of ecrpy ever shows such userinfo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from credential_helper import login_store
from tests.conftest import REGISTRY, Helper
from tests.test_store_mode import recorded, store_env  # noqa: F401 (a fixture)

PASSWORD = "hunter2-in-the-url"


def store(helper: Helper, env: dict[str, str], url: str) -> tuple[int, str, str]:
    payload = json.dumps({"ServerURL": url, "Username": "octo", "Secret": "ghp_secret"})
    result = helper.run("store", stdin=payload, env=env)
    return result.returncode, result.stdout, result.stderr


def logs(env: dict[str, str]) -> str:
    directory = Path(env["HOME"]) / ".cache" / "ecrpy"
    return "".join(path.read_text() for path in directory.glob("*.log*"))


@pytest.mark.parametrize(
    "url",
    [
        f"https://octo:{PASSWORD}@ghcr.io",
        f"octo:{PASSWORD}@ghcr.io",
        f"https://octo:{PASSWORD}@{REGISTRY}",
        f"https://{PASSWORD}@registry.example:5000/v2/",
    ],
)
def test_a_store_with_a_password_in_its_url_is_refused(
    url: str, helper: Helper, env: dict[str, str]
) -> None:
    env["ECRPY_LOG_LEVEL"] = "debug"
    code, stdout, stderr = store(helper, env, url)
    assert code == 1
    assert stdout == stderr and stdout.count("\n") == 1, (stdout, stderr)
    assert stdout.startswith("ecrpy: nothing stored: the server URL ")
    assert "carries a user name or password" in stdout
    assert PASSWORD not in stdout + logs(env)
    assert json.loads(helper.run("list", env=env).stdout) == {}
    assert not (Path(env["HOME"]) / ".local" / "share" / "ecrpy" / "logins.json").exists()


def test_the_fallback_store_never_gets_a_url_with_a_password(
    helper: Helper,
    store_env: dict[str, str],  # noqa: F811
) -> None:
    code, stdout, _ = store(helper, store_env, f"https://octo:{PASSWORD}@ghcr.io")
    assert code == 1 and PASSWORD not in stdout
    assert recorded(store_env) == []  # the fallback was not even started


def test_list_never_prints_a_password_a_url_held_before(
    helper: Helper, env: dict[str, str]
) -> None:
    """A login an earlier ecrpy stored under ``https://user:pass@host`` is listed without it."""
    path = Path(env["HOME"]) / ".local" / "share" / "ecrpy" / "logins.json"
    path.parent.mkdir(parents=True, mode=0o700)
    logins = {f"https://octo:{PASSWORD}@ghcr.io": ("octo", "ghp_secret")}
    path.write_text(login_store.encode(logins))
    path.chmod(0o600)
    listed = helper.run("list", env=env)
    assert listed.returncode == 0
    assert json.loads(listed.stdout) == {"https://ghcr.io": "octo"}
    assert PASSWORD not in listed.stdout + listed.stderr
