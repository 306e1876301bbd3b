"""ecrpy on Windows, under wine: installed by the embeddable CPython's pip, run by Docker's client.

The machine is what ``.ci/windows.sh`` installs in ``ECRPY_WINDOWS`` (default
``~/.cache/ecrpy-windows``): a wine prefix, python.org's embeddable CPython 3.11 for Windows with
pip, and ecrpy's dependencies as wheels. Once per session the release artefacts are built by
``tools/build_dist.py`` (as ``make dist`` builds them), the Windows Python's own pip installs
``ecrpy`` from them, choosing the wheel as pip on Windows chooses it, and Docker's
credential-helpers client (``dockercli/main.go``, Debian's Go source built for Windows by Debian's
Go 1.19) runs the helper as the Docker CLI does: found by name on PATH, with PATHEXT.

Each test is one Windows user: ``USERPROFILE`` and ``LOCALAPPDATA`` in a scratch directory, AWS
keys in ``%USERPROFILE%\\.aws\\credentials``, and a decoy ``HOME`` (as Git Bash sets it) full of
other settings that must never be read nor written. The fake AWS answers over TLS on loopback
(``AWS_ENDPOINT_URL_ECR``, ``AWS_CA_BUNDLE``).

Without the machine the tests skip on a developer's computer and fail in CI (``CI=true``).
Timings under wine mean nothing: nothing here measures time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fakeaws import tls
from fakeaws.server import FakeAWS, Server
from tests.conftest import ACCESS_KEY, SECRET_KEY

ROOT = Path(__file__).resolve().parent.parent.parent
TOOLCHAIN = Path(
    os.environ.get("ECRPY_WINDOWS")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecrpy-windows"
)
GO = Path("/usr/lib/go-1.19/bin/go")  # Go >= 1.23 builds binaries that do not start on wine 8
GOCODE = Path("/usr/share/gocode")  # Debian's Go sources (the client package, x/sys)
CLIENT_PACKAGE = GOCODE / "src/github.com/docker/docker-credential-helpers/client"
DECOY_KEY = "AKIADECOYDECOYDECOY1"
WINE_RUN_TIMEOUT = 300  # a bound on a hung run, not a timing


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "windows: ecrpy installed and run on Windows (wine), by Docker's own client"
    )


def windows_path(path: Path | str) -> str:
    """A Linux path as a Windows program under wine sees it (drive Z: is /)."""
    return "Z:" + str(path).replace("/", "\\")


def _missing(what: str) -> None:
    message = f"the Windows suite needs {what}: run `bash .ci/windows.sh`"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _unix_environment() -> dict[str, str]:
    """What wine itself gets: its prefix, quiet, and nothing of this machine's AWS, pip or
    Docker settings (wine passes its Unix environment on to Windows programs)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(Path.home()),
        "WINEPREFIX": str(TOOLCHAIN / "prefix"),
        "WINEDEBUG": "-all",
        "WINEDLLOVERRIDES": "mscoree,mshtml=",
    }


def wine(
    *args: str, stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A Windows program under wine. Its streams are pipes (a wine 8 program with stdout on a
    regular file cannot set up its standard streams); text comes back with ``\\n`` line ends."""
    result = subprocess.run(
        ["wine", *args],
        input=stdin,
        capture_output=True,
        env=_unix_environment(),
        cwd=cwd,
        timeout=WINE_RUN_TIMEOUT,
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args,
        result.returncode,
        result.stdout.decode("utf-8", "replace").replace("\r\n", "\n"),
        result.stderr.decode("utf-8", "replace").replace("\r\n", "\n"),
    )


@dataclass(frozen=True)
class Machine:
    """The Windows side of the session: its Python (with ecrpy installed) and Docker's client."""

    python: Path  # the directory of python.exe
    dockercli: Path
    wheels: Path

    @property
    def scripts(self) -> Path:
        return self.python / "Scripts"


def _build_client(target: Path) -> Path:
    source = target / "gopath" / "src" / "dockercli"
    source.mkdir(parents=True)
    shutil.copy(Path(__file__).with_name("dockercli") / "main.go", source / "main.go")
    exe = target / "bin" / "dockercli.exe"
    subprocess.run(
        [str(GO), "build", "-o", str(exe), "dockercli"],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(target),
            "GOPATH": f"{target / 'gopath'}:{GOCODE}",
            "GO111MODULE": "off",  # GOPATH mode: Debian's sources, no module proxy
            "GOOS": "windows",
            "GOARCH": "amd64",
            "CGO_ENABLED": "0",
            "GOCACHE": str(TOOLCHAIN / "gocache"),
        },
        check=True,
        capture_output=True,
    )
    return exe


@pytest.fixture(scope="session")
def machine(tmp_path_factory: pytest.TempPathFactory) -> Machine:
    """Build the artefacts, install them with the Windows Python's pip, build Docker's client."""
    if shutil.which("wine") is None:
        _missing("wine (Debian's wine64)")
    for needed in (
        TOOLCHAIN / "prefix" / "system.reg",
        TOOLCHAIN / "python" / "Scripts" / "pip.exe",
        TOOLCHAIN / "wheelhouse",
        GO,
        CLIENT_PACKAGE,
    ):
        if not needed.exists():
            _missing(str(needed))
    base = tmp_path_factory.mktemp("windows")
    wheels = base / "dist"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_dist.py"), str(wheels)],
        check=True,
        capture_output=True,
    )
    python = base / "python"
    shutil.copytree(TOOLCHAIN / "python", python)  # a fresh Python per session
    installed = wine(
        str(python / "python.exe"),
        "-m",
        "pip",
        "install",
        "--no-index",  # the release artefacts and the dependencies' wheels, nothing else
        "--no-warn-script-location",
        "--find-links",
        windows_path(wheels),
        "--find-links",
        windows_path(TOOLCHAIN / "wheelhouse"),
        "ecrpy",
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return Machine(python=python, dockercli=_build_client(base), wheels=wheels)


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """The fake AWS over TLS on 127.0.0.1, and its CA's certificate (for ``AWS_CA_BUNDLE``)."""
    certs = tls.make(str(tmp_path_factory.mktemp("tls")), ["127.0.0.1", "localhost"])
    with Server(certfile=certs.cert, keyfile=certs.key) as server:
        yield server, Path(certs.ca)


@pytest.fixture
def fake(tls_server: tuple[Server, Path]) -> Iterator[FakeAWS]:
    tls_server[0].app.reset()
    yield tls_server[0].app
    tls_server[0].app.reset()


def _snapshot(directory: Path) -> dict[str, bytes | None]:
    return {
        str(path.relative_to(directory)): path.read_bytes() if path.is_file() else None
        for path in sorted(directory.rglob("*"))
    }


class User:
    """One Windows user: a profile, AWS keys in it, a decoy HOME, and the way to run things."""

    def __init__(self, root: Path, machine: Machine, server: Server, ca: Path) -> None:
        self.machine = machine
        self.profile = root / "profile"
        self.local = self.profile / "AppData" / "Local"
        (self.profile / "AppData" / "Roaming").mkdir(parents=True)
        self.local.mkdir(parents=True)
        (self.profile / ".aws").mkdir()
        (self.profile / ".aws" / "credentials").write_text(
            f"[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        )
        self.decoy = root / "decoy"
        self._plant_decoy()
        self.decoy_before = _snapshot(self.decoy)
        self.environment = {
            "PATH": ";".join(
                [windows_path(machine.scripts), r"C:\windows\system32", r"C:\windows"]
            ),
            "PATHEXT": ".COM;.EXE;.BAT;.CMD",
            "USERPROFILE": windows_path(self.profile),
            "LOCALAPPDATA": windows_path(self.local),
            "APPDATA": windows_path(self.profile / "AppData" / "Roaming"),
            "HOME": windows_path(self.decoy),
            **server.environment(),  # https://127.0.0.1:PORT
            "AWS_CA_BUNDLE": windows_path(ca),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def _plant_decoy(self) -> None:
        """Another identity's keys, Docker config and ecrpy settings, where HOME points: all of
        it would change what ecrpy does if it were read (the settings do not even parse)."""
        (self.decoy / ".aws").mkdir(parents=True)
        (self.decoy / ".aws" / "credentials").write_text(
            f"[default]\naws_access_key_id = {DECOY_KEY}\naws_secret_access_key = decoy\n"
        )
        (self.decoy / ".aws" / "config").write_text("[default]\nregion = eu-west-3\n")
        (self.decoy / ".docker").mkdir()
        (self.decoy / ".docker" / "config.json").write_text(
            json.dumps({"credHelpers": {"decoy.example.com": "decoy"}})
        )
        (self.decoy / ".config" / "ecrpy").mkdir(parents=True)
        (self.decoy / ".config" / "ecrpy" / "config.toml").write_text("[store\nnot toml")

    def docker(
        self, *words: str, cwd: Path | None = None, **environment: str
    ) -> subprocess.CompletedProcess[str]:
        """Docker's client: ``get SERVER``, ``store SERVER USER SECRET``, ``erase SERVER``,
        ``list``, or ``run ARG ...`` (the helper as a person runs it at a prompt), with
        ``environment`` over the user's."""
        assignments = [f"{k}={v}" for k, v in {**self.environment, **environment}.items()]
        result = wine(str(self.machine.dockercli), *assignments, *words, cwd=cwd)
        output = result.stdout + result.stderr
        assert "Traceback" not in output, output
        return result

    def start(self, *words: str) -> subprocess.Popen[bytes]:
        """:meth:`docker`, not waited for."""
        assignments = [f"{k}={v}" for k, v in self.environment.items()]
        return subprocess.Popen(
            ["wine", str(self.machine.dockercli), *assignments, *words],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_unix_environment(),
        )

    def check_decoy_untouched(self, fake: FakeAWS) -> None:
        assert _snapshot(self.decoy) == self.decoy_before, "something was written under HOME"
        assert all(r.access_key != DECOY_KEY for r in fake.requests), "HOME's AWS keys were used"


@pytest.fixture
def user(
    tmp_path: Path, machine: Machine, tls_server: tuple[Server, Path], fake: FakeAWS
) -> Iterator[User]:
    person = User(tmp_path, machine, tls_server[0], tls_server[1])
    yield person
    person.check_decoy_untouched(fake)
