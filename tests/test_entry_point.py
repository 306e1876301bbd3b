"""The installed script is ecrpy's own, and the process ends by ``os._exit`` losing nothing.

The script is installed the way users install it: a fresh ``python3 -m venv`` whose bundled pip
(never upgraded) installs the package. pip before 25 generates an entry-point wrapper that
imports ``re``; ecrpy ships a wheel script instead, and this proves what the interpreter
imports for a warm ``get`` through it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakeaws.server import FakeAWS
from tests.conftest import REGISTRY, Helper
from tests.startup import FORBIDDEN, ecrpy_modules

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "123456789012-auth-token"


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``python3 -m venv`` whose bundled pip installs ecrpy's wheel, built from a copy of the tree.

    The wheel is built by the test venv's pip (the bundled venv has no ``wheel`` package); the
    fresh venv's own pip installs it, which is where the script is written. ``--no-deps``: a
    warm get needs none of the dependencies, and the script is what is being tested.
    """
    base = tmp_path_factory.mktemp("fresh")
    source = base / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("credential_helper", "scripts"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = base / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    venv = base / "venv"
    python = shutil.which("python3") or sys.executable
    subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
    subprocess.run(
        [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(next(wheels.glob("ecrpy-*.whl"))),
        ],
        check=True,
        capture_output=True,
    )
    yield venv


def test_the_installed_script_is_ecrpys_own_and_a_warm_get_imports_nothing_heavy(
    fresh_venv: Path, helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, env)  # a cold get with the test venv's helper warms the cache
    script = fresh_venv / "bin" / "docker-credential-ecrpy"
    first_line = script.read_text().splitlines()[0]
    assert first_line.startswith("#!") and Path(first_line[2:]).parent == fresh_venv / "bin"
    # The interpreter the shebang names, running the script as the kernel would.
    result = subprocess.run(
        [first_line[2:], "-X", "importtime", str(script), "get"],
        input=REGISTRY.encode(),
        env=env,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert PASSWORD in result.stdout.decode()
    imported = {
        line.split("|")[-1].strip()
        for line in result.stderr.decode().splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "credential_helper.cli" in imported  # the report is the real one
    heavy = sorted(name for name in imported if name.split(".")[0] in FORBIDDEN)
    assert heavy == []
    assert ecrpy_modules(imported) == []  # every ecrpy module it loaded is declared warm
    assert fake.count("GetAuthorizationToken") == 1  # the fresh venv's get was warm


def test_python_dash_m_credential_helper_still_works(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "credential_helper", "get"],
        input=REGISTRY.encode(),
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0 and PASSWORD in result.stdout.decode()


# -- leaving by os._exit ------------------------------------------------------------------


def _closed_pipe_run(
    helper: Helper, env: dict[str, str], action: str, stdin: bytes
) -> tuple[int, str]:
    """Run with stdout a pipe whose reading end is already closed: the client went away."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(
            [helper.path, action],
            input=stdin,
            stdout=write,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
            timeout=60,
        )
    finally:
        os.close(write)
    return proc.returncode, proc.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_stdout_to_a_closed_pipe_ends_quietly_and_keeps_the_cache(
    helper: Helper, env: dict[str, str], fake: FakeAWS, warm: bool
) -> None:
    if warm:
        helper.get(REGISTRY, env)
    code, stderr = _closed_pipe_run(helper, env, "get", REGISTRY.encode())
    assert code == 1  # the answer could not be delivered
    assert (
        "Traceback" not in stderr and "Exception ignored" not in stderr and "Broken" not in stderr
    )
    cache = Path(env["HOME"]) / ".cache" / "ecrpy"
    assert len(list(cache.glob("*.json"))) == 1  # the token fetched is kept for the next get
    assert fake.count("GetAuthorizationToken") == 1
    assert helper.get(REGISTRY, env)["Secret"] == PASSWORD  # and served from the cache


def test_the_log_lines_of_a_cold_and_a_warm_get_reach_the_file(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    logged = {**env, "ECRPY_LOG_LEVEL": "info"}
    helper.get(REGISTRY, logged)
    helper.get(REGISTRY, logged)
    log_text = (Path(env["HOME"]) / ".cache" / "ecrpy" / "ecrpy.log").read_text()
    assert f"refresh {REGISTRY}" in log_text
    assert f"hit {REGISTRY}" in log_text.splitlines()[-1]
