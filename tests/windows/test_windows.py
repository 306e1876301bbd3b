"""ecrpy on Windows as a Docker Desktop user has it: pip's ``.exe``, Docker's client, a profile.

Every run goes through Docker's own client code (``dockercli``), which finds
``docker-credential-ecrpy`` on PATH with Go's ``exec.LookPath``: on Windows, only by a PATHEXT
name. No run may print a traceback, and nothing under the decoy ``HOME`` may be read or written
(``User`` checks both; see conftest.py).
"""

from __future__ import annotations

import json
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from credential_helper import __version__
from fakeaws.server import FakeAWS, Fault
from tests.conftest import ACCESS_KEY, REGISTRY
from tests.test_deadline import RAISED, SWALLOWED

from .conftest import TOOLCHAIN, Machine, User, windows_path, wine

pytestmark = pytest.mark.windows

PASSWORD = "123456789012-auth-token"
OTHER = "https://registry.example.com"


def credentials(result: object) -> dict[str, str]:
    assert getattr(result, "returncode", None) == 0, result
    answer: dict[str, str] = json.loads(result.stdout)  # type: ignore[attr-defined]
    return answer


# -- installing -----------------------------------------------------------------------------


def test_make_dist_builds_a_windows_wheel_with_an_entry_point_and_pip_prefers_it(
    machine: Machine,
) -> None:
    (wheel,) = machine.wheels.glob("ecrpy-*-py3-none-win_amd64.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert not any(".data/scripts/" in name for name in archive.namelist())
    (installed,) = (machine.python / "Lib" / "site-packages").glob("ecrpy-*.dist-info")
    assert "Tag: py3-none-win_amd64" in (installed / "WHEEL").read_text()
    assert (machine.scripts / "docker-credential-ecrpy.exe").is_file()
    assert not (machine.scripts / "docker-credential-ecrpy").exists()  # LookPath would skip it


def test_pip_on_windows_building_the_sdist_installs_the_exe_too(
    machine: Machine, tmp_path: Path
) -> None:
    """What ``pipx install git+https://...`` does on Windows: pip builds the wheel there (its
    metadata first, then the wheel reusing it), and it must be the Windows one."""
    python = tmp_path / "python"
    shutil.copytree(TOOLCHAIN / "python", python)
    pip = [str(python / "python.exe"), "-m", "pip", "install", "--no-index", "--no-deps"]
    wheelhouse = ["--find-links", windows_path(TOOLCHAIN / "wheelhouse")]
    assert wine(*pip, *wheelhouse, "setuptools").returncode == 0
    (sdist,) = machine.wheels.glob("ecrpy-*.tar.gz")
    # The embeddable CPython ignores PYTHONPATH, which pip's isolated build needs: build in place.
    built = wine(*pip, "--no-build-isolation", windows_path(sdist))
    assert built.returncode == 0, built.stdout + built.stderr
    exe = python / "Scripts" / "docker-credential-ecrpy.exe"
    assert (
        wine(str(exe), "version").stdout.strip() == f"docker-credential-ecrpy (ecrpy) {__version__}"
    )


def test_dockers_client_finds_the_exe_and_runs_version_and_help(user: User) -> None:
    version = user.docker("run", "version")
    assert version.returncode == 0, version
    assert version.stdout.strip() == f"docker-credential-ecrpy (ecrpy) {__version__}"
    shown = user.docker("run", "--help")
    assert shown.returncode == 0, shown
    assert "configure [REGISTRY ...]" in shown.stdout


# -- the protocol ----------------------------------------------------------------------------


def test_a_cold_get_then_a_warm_one_make_one_token_request(user: User, fake: FakeAWS) -> None:
    for _ in range(2):
        answer = credentials(user.docker("get", REGISTRY))
        assert answer["Username"] == "AWS" and answer["Secret"] == PASSWORD
    assert fake.count("GetAuthorizationToken") == 1  # the second came from the cache
    assert fake.count("GetAuthorizationToken", ACCESS_KEY) == 1  # %USERPROFILE%\.aws's keys
    cached = [p for p in (user.local / "ecrpy").rglob("*") if p.is_file()]
    assert any(PASSWORD in p.read_text(errors="replace") for p in cached), cached


def test_erase_drops_the_cached_token(user: User, fake: FakeAWS) -> None:
    credentials(user.docker("get", REGISTRY))
    erased = user.docker("erase", REGISTRY)
    assert erased.returncode == 0, erased
    credentials(user.docker("get", REGISTRY))
    assert fake.count("GetAuthorizationToken") == 2


def test_another_registry_is_stored_listed_and_erased_in_ecrpys_own_store(
    user: User, fake: FakeAWS
) -> None:
    stored = user.docker("store", OTHER, "alice", "s3cret-password")
    assert stored.returncode == 0, stored
    assert credentials(user.docker("get", OTHER)) == {
        "ServerURL": OTHER,
        "Username": "alice",
        "Secret": "s3cret-password",
    }
    listed = user.docker("list")
    assert listed.returncode == 0, listed
    assert json.loads(listed.stdout)[OTHER] == "alice"
    kept = [p for p in (user.local / "ecrpy").rglob("*") if p.is_file()]
    assert any("s3cret-password" in p.read_text(errors="replace") for p in kept), kept
    assert user.docker("erase", OTHER).returncode == 0
    gone = user.docker("get", OTHER)
    assert (gone.returncode, gone.stdout.strip()) == (3, "not found")
    assert fake.count("GetAuthorizationToken") == 0


def test_a_second_get_waits_on_the_lock_of_the_first_and_takes_its_token(
    user: User, fake: FakeAWS
) -> None:
    fake.add_fault(Fault(operation="GetAuthorizationToken", delay=5.0, times=1))  # slow, then OK
    first = user.start("get", REGISTRY)
    for _ in range(6000):  # a bound on the look, not a timing: the fake's log is the proof
        if fake.count("GetAuthorizationToken") == 1:
            break
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    else:
        pytest.fail("the first get never asked for a token")
    second = user.start("get", REGISTRY)  # the first holds the lock while it fetches
    for proc in (first, second):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode(errors="replace")
        assert json.loads(out)["Secret"] == PASSWORD
        assert b"Traceback" not in out + err
    assert fake.count("GetAuthorizationToken") == 1  # the second waited, then read the cache


# -- the tools -------------------------------------------------------------------------------


def test_configure_writes_the_docker_config_in_userprofile(user: User) -> None:
    configured = user.docker("run", "configure", REGISTRY)
    assert configured.returncode == 0, configured
    config = json.loads((user.profile / ".docker" / "config.json").read_text())
    assert config["credHelpers"] == {REGISTRY: "ecrpy"}


def test_doctor_passes_on_a_configured_machine(user: User) -> None:
    assert user.docker("run", "configure", REGISTRY).returncode == 0
    doctor = user.docker("run", "doctor")
    assert doctor.returncode == 0, doctor
    assert REGISTRY in doctor.stdout
    assert windows_path(user.profile / ".docker" / "config.json") in doctor.stdout


def test_whoami_names_the_registry_and_the_identity(user: User) -> None:
    shown = user.docker("run", "whoami", REGISTRY)
    assert shown.returncode == 0, shown
    assert "account 123456789012, us-east-1" in shown.stdout
    assert "fingerprint" in shown.stdout


# -- the platform layer ----------------------------------------------------------------------


def test_the_deadline_rings_without_sigalrm(machine: Machine) -> None:
    rung = wine(str(machine.python / "python.exe"), "-c", RAISED)  # POSIX's cases, on Windows
    assert (rung.returncode, rung.stderr) == (0, "")
    assert rung.stdout == (
        "network gave up after 0.2 s doing something slow (no answer in time; a hint)\n"
    )


def test_a_swallowed_deadline_still_ends_the_process_in_one_line(machine: Machine) -> None:
    ended = wine(str(machine.python / "python.exe"), "-c", SWALLOWED)
    assert ended.returncode == 1
    assert ended.stderr == (
        "ecrpy: gave up after 0.2 s doing something slow (no answer in time; a hint)\n"
    )


BATCH = '@echo off\r\n"{python}" "{script}" %1\r\n'
ECHO = """
import json, sys
print(json.dumps({"Username": sys.argv[1], "Secret": sys.stdin.read()}))
"""
HANG = "import time; time.sleep(600)\n"


def fallback_settings(user: User, name: str, code: str) -> dict[str, str]:
    """``[store] fallback = NAME``: ``docker-credential-NAME.bat`` (a batch file that runs
    Python: a process tree) in a directory on PATH, found by PATHEXT's ``.BAT``."""
    tools = user.profile / "tools"
    tools.mkdir(exist_ok=True)
    script = tools / f"{name}.py"
    script.write_text(code)
    python = windows_path(user.machine.python / "python.exe")
    (tools / f"docker-credential-{name}.bat").write_bytes(
        BATCH.format(python=python, script=windows_path(script)).encode()
    )
    settings = user.profile / "ecrpy.toml"
    settings.write_text(f'[store]\nfallback = "{name}"\n')
    return {
        "ECRPY_CONFIG": windows_path(settings),
        "PATH": windows_path(tools) + ";" + user.environment["PATH"],
    }


def test_the_fallback_store_is_found_by_pathext_and_answers(user: User, fake: FakeAWS) -> None:
    answer = credentials(user.docker("get", OTHER, **fallback_settings(user, "echo", ECHO)))
    assert answer == {"ServerURL": OTHER, "Username": "get", "Secret": OTHER}
    assert fake.count("GetAuthorizationToken") == 0


def test_a_hanging_fallback_is_ended_with_its_children_at_the_deadline(user: User) -> None:
    settings = {**fallback_settings(user, "hang", HANG), "ECRPY_TIMEOUT": "2"}
    # The batch file's Python inherits stderr: were it left running, this run would not end
    # (wine() waits for every holder of the pipe).
    ended = user.docker("get", OTHER, **settings)
    assert ended.returncode == 1
    assert "docker-credential-hang" in ended.stderr
    assert "gave no answer within 2 s and was stopped" in ended.stderr


def test_a_relative_path_entry_is_never_searched(user: User) -> None:
    settings = fallback_settings(user, "echo", ECHO)
    settings["PATH"] = "tools;" + user.environment["PATH"]  # relative: refused, as LookPath does
    missing = user.docker("get", OTHER, cwd=user.profile, **settings)  # .\tools has it
    assert missing.returncode == 1
    assert "docker-credential-echo" in missing.stderr
