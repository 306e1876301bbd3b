"""The tools on any console (issue 21): a Windows console or pipe in cp1252 has no ✔, and a
fix to type is written in the words of the user's shell.

Python writes to a pipe in the locale's encoding (cp1252 on a western Windows), which
``PYTHONIOENCODING`` sets here the same way: the installed script runs as it would there.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from credential_helper import cli, log
from credential_helper.commands import common
from fakeaws.server import FakeAWS
from tests.conftest import REGISTRY, Helper


def cp1252(env: dict[str, str]) -> dict[str, str]:
    return {**env, "PYTHONIOENCODING": "cp1252"}


def test_doctor_on_a_cp1252_console_prints_ascii_marks_and_the_same_checks(
    helper: Helper, docker_env: dict[str, str], fake: FakeAWS
) -> None:
    helper.run("configure", REGISTRY, env=docker_env)
    checks = json.loads(helper.run("doctor", "--json", env=docker_env).stdout)["checks"]
    result = helper.run("doctor", env=cp1252(docker_env))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()[1:]
    assert [line.split(" ", 1)[0] for line in lines] == ["ok"] * len(checks)
    assert "internal error" not in result.stdout + result.stderr


def test_configure_on_a_cp1252_pipe_writes_the_file_and_says_so_in_ascii(
    helper: Helper, docker_env: dict[str, str]
) -> None:
    result = helper.run("configure", REGISTRY, env=cp1252(docker_env))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == f"ok {REGISTRY}: credHelpers -> ecrpy"
    config = json.loads((Path(docker_env["HOME"]) / ".docker" / "config.json").read_text())
    assert config["credHelpers"][REGISTRY] == "ecrpy"


def test_a_path_the_console_cannot_show_is_replaced_not_a_crash(
    helper: Helper, docker_env: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "home-\N{SNOWMAN}"
    home.mkdir()
    env = cp1252({**docker_env, "HOME": str(home)})
    result = helper.run("configure", REGISTRY, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "home-?" in result.stdout and "internal error" not in result.stdout


def test_a_utf8_console_keeps_the_marks() -> None:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    assert common.marks(out) == common.UNICODE_MARKS
    assert common.marks(io.TextIOWrapper(io.BytesIO(), encoding="cp1252")) == common.ASCII_MARKS
    assert common.marks(io.StringIO()) == common.UNICODE_MARKS  # no encoding: text stays text


@pytest.mark.parametrize(
    ("platform", "command"),
    [
        ("win32", '$env:Path = "C:\\Tools\\ecrpy;$env:Path"'),
        ("linux", 'export PATH="C:\\Tools\\ecrpy:$PATH"'),
        ("darwin", 'export PATH="C:\\Tools\\ecrpy:$PATH"'),
    ],
)
def test_the_path_fix_is_in_the_words_of_the_systems_shell(platform: str, command: str) -> None:
    assert common.prepend_path("C:\\Tools\\ecrpy", platform) == command


def test_path_fix_on_windows_names_powershell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["/opt/ecrpy/bin/docker-credential-ecrpy"])
    fix = common.path_fix({"PATH": ""}, "win32")
    assert fix is not None and '`$env:Path = "/opt/ecrpy/bin;$env:Path"`' in fix


def test_the_last_line_of_defence_holds_when_the_log_itself_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On Windows the log's owner check once raised inside the crash handler (os.geteuid):
    whatever breaks the log, the user gets the one line and the exit code, no traceback."""

    def broken(*args: object) -> None:
        raise AttributeError("module 'os' has no attribute 'geteuid'")

    def crashing(environ: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setitem(cli.COMMANDS, "version", crashing)
    monkeypatch.setattr(log, "error", broken)
    assert cli.run(["version"], {}) == cli.EXIT_ERROR
    out = capsys.readouterr()
    assert (
        out.out == "ecrpy: internal error (RuntimeError) in 'version'; details in no log "
        "(it could not be written)\n"
    )
    assert out.err == out.out
