"""The benchmark's world: a fake ECR/STS on loopback that both helpers reach, and how to run them.

The Go helpers (``docker-credential-ecr-login`` 0.12.0 from sid, 0.6.0 from Debian stable, which
predates ``AWS_ENDPOINT_URL_*``) reach the fake by the real AWS hostnames, over TLS, on port 443:
the one way both versions have, and the way users reach AWS. So the benchmark runs in
a private mount namespace whose ``/etc/hosts`` maps those names to a loopback address of its
own (:mod:`fakeaws.hosts`), serves the fake there with a certificate from a throw-away CA
(:mod:`fakeaws.tls`), and gives that CA to Go (``SSL_CERT_FILE``) and to botocore
(``AWS_CA_BUNDLE``). ecrpy uses the same hostnames, so both pay the same TLS handshake.

Without root (no private ``/etc/hosts``) only ecrpy can be measured; it then reaches the fake
through ``AWS_ENDPOINT_URL_ECR`` / ``AWS_ENDPOINT_URL_STS`` on an ephemeral port.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGIONS = ("us-east-1", "eu-west-1")
# Every name either helper may resolve: ECR's API and STS (regional and global) per region.
HOSTNAMES = (
    *(f"api.ecr.{region}.amazonaws.com" for region in REGIONS),
    *(f"sts.{region}.amazonaws.com" for region in REGIONS),
    "sts.amazonaws.com",
)
OPERATIONS = ("AssumeRole", "AssumeRoleWithWebIdentity", "GetAuthorizationToken")
START_TIMEOUT = 120.0  # moto's import is slow on a busy 2-core machine


class BenchError(RuntimeError):
    """The benchmark cannot go on (a helper failed, the fake did not start ...)."""


# -- processes we started: every one is stopped on the way out ------------------------------

_CHILDREN: list[subprocess.Popen[bytes]] = []


def spawn(argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    proc: subprocess.Popen[bytes] = subprocess.Popen(argv, **kwargs)  # type: ignore[call-overload]
    _CHILDREN.append(proc)
    return proc


def reap(proc: subprocess.Popen[bytes]) -> None:
    if proc in _CHILDREN:
        _CHILDREN.remove(proc)


def end(proc: subprocess.Popen[bytes], grace: float) -> None:
    """Terminate one child, kill it after ``grace`` seconds, and forget it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    reap(proc)


def stop_children(grace: float = 5.0) -> None:
    """Terminate, then kill, every child this process started and has not reaped."""
    for proc in _CHILDREN:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in _CHILDREN:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _CHILDREN.clear()


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so that ``finally`` blocks stop what we started."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


# -- the private /etc/hosts --------------------------------------------------------------------


def free_loopback(port: int = 443) -> str:
    """A loopback address where nothing listens on ``port`` yet (127.0.0.2:443 may be taken)."""
    for third in range(71, 90):
        address = f"127.{third}.0.1"
        with socket.socket() as probe:
            try:
                probe.bind((address, port))
            except OSError:
                continue
        return address
    raise BenchError(f"no free loopback address for port {port}")


def private_hosts_problem() -> str | None:
    """None when this process can run in a namespace with its own /etc/hosts."""
    sys.path.insert(0, ROOT)
    from fakeaws import hosts

    return hosts.available()


def in_private_hosts(workdir: str, address: str, argv: list[str]) -> list[str]:
    """``argv`` wrapped to run where every name in :data:`HOSTNAMES` resolves to ``address``."""
    sys.path.insert(0, ROOT)
    from fakeaws import hosts

    hosts_file = hosts.write_hosts(
        os.path.join(workdir, "hosts"), dict.fromkeys(HOSTNAMES, address)
    )
    return hosts.command(hosts_file, argv)


# -- the fake AWS ------------------------------------------------------------------------------


@dataclass
class Fake:
    """``python -m fakeaws serve`` as a child process, and its ``/_fake/`` control API."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    ca: str
    url: str
    started_in: float
    latency: float = 0.0  # seconds the fake waits before each AWS answer (--aws-latency-ms)
    bundle: str = ""  # the CA bundle clients trust: the system's plus the test CA
    _conn: http.client.HTTPSConnection | None = field(default=None, repr=False)

    @classmethod
    def start(cls, workdir: str, address: str | None, python: str = sys.executable) -> Fake:
        """TLS on ``address``:443 (private hosts), else on 127.0.0.1 and an ephemeral port."""
        host, port = (address, 443) if address else ("127.0.0.1", 0)
        argv = [python, "-m", "fakeaws", "serve", "--host", host, "--port", str(port)]
        argv += ["--tls-dir", os.path.join(workdir, "tls")]
        for name in HOSTNAMES:
            argv += ["--name", name]
        started = time.perf_counter()
        with open(os.path.join(workdir, "fake.log"), "wb") as log:
            proc = spawn(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=log)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
        line = proc.stdout.readline() if ready else b""
        if not line:
            proc.kill()
            with open(os.path.join(workdir, "fake.log"), encoding="utf-8", errors="replace") as f:
                tail = f.read()[-2000:]
            raise BenchError(f"the fake AWS did not start:\n{tail}")
        info = json.loads(line)
        return cls(
            proc, host, int(info["port"]), info["ca"], info["url"], time.perf_counter() - started
        )

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        end(self.process, 10)

    def _call(self, method: str, path: str, body: bytes = b"") -> object:
        for attempt in (1, 2):  # a kept-alive connection may have been closed: reconnect once
            if self._conn is None:
                context = ssl.create_default_context(cafile=self.ca)
                self._conn = http.client.HTTPSConnection(
                    self.host, self.port, context=context, timeout=30
                )
            try:
                self._conn.request(method, path, body=body if method == "POST" else None)
                reply = self._conn.getresponse()
                data = reply.read()
            except (OSError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            if reply.status != 200:
                raise BenchError(f"fake AWS control {path}: HTTP {reply.status}")
            return json.loads(data)
        raise AssertionError("unreachable")

    def take(self) -> Counter[str]:
        """The operations the fake has served since the last call (and forget them)."""
        requests = self._call("GET", "/_fake/requests")
        self._call("POST", "/_fake/reset")  # forgets the faults too: add the latency again
        if self.latency:
            self._call("POST", "/_fake/faults", json.dumps({"delay": self.latency}).encode())
        assert isinstance(requests, list)
        return Counter(str(r["operation"]) for r in requests)

    def environment(self) -> dict[str, str]:
        """What every process gets: the test CA for Go and botocore; endpoints without hosts."""
        trusted = self.bundle or self.ca
        env = {"SSL_CERT_FILE": trusted, "AWS_CA_BUNDLE": trusted}
        if self.port != 443:  # no private /etc/hosts: only ecrpy, through endpoint settings
            for service in ("ECR", "STS"):
                env[f"AWS_ENDPOINT_URL_{service}"] = self.url
        return env


# -- helpers and interpreters ------------------------------------------------------------------


# The Go helpers measured beside ecrpy: the newest release (Debian sid's 0.12.0, unpacked by
# .ci/sid-tools.sh) is the reference of every ratio; Debian stable's 0.6.0 (apt) shows how far
# the Go helper itself has moved.
SID_PREFIX = os.environ.get("ECRPY_SID_PREFIX", "/opt/ecrpy-sid")
GO_HELPERS = {
    "go": os.path.join(SID_PREFIX, "usr", "bin", "docker-credential-ecr-login"),
    "go-stable": "/usr/bin/docker-credential-ecr-login",
}
GO_KEYS = tuple(GO_HELPERS)
GO_INSTALL = {
    "go": "bash .ci/sid-tools.sh (Debian sid's amazon-ecr-credential-helper)",
    "go-stable": "apt-get install amazon-ecr-credential-helper",
}


def go_helpers() -> dict[str, str]:
    """The Go helpers installed here, by key (``go``: the newest; ``go-stable``: Debian's)."""
    return {key: path for key, path in GO_HELPERS.items() if os.access(path, os.X_OK)}


def go_version(path: str) -> str:
    try:
        out = subprocess.run(
            [path, "-v"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return "unknown"
    fields = dict(
        line.split(":", 1) for line in out.splitlines() if ":" in line
    )  # "Version:    0.6.0" / "Git commit: 69c85dc"
    version = fields.get("Version", "").strip() or "unknown"
    commit = fields.get("Git commit", "").strip()
    return f"{version} ({commit})" if commit else version


def ecrpy_script() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "docker-credential-ecrpy")
    found = beside if os.path.exists(beside) else shutil.which("docker-credential-ecrpy")
    if not found:
        raise BenchError(
            "docker-credential-ecrpy is not installed: run `make bench` "
            "(or pip install -e . in a virtual environment)"
        )
    return found


def shebang_python(script: str) -> str:
    """The interpreter a console script runs with (its ``#!`` line)."""
    with open(script, "rb") as handle:
        first = handle.readline().decode("utf-8", "replace").strip()
    if first.startswith("#!"):
        words = first[2:].split()
        if words and os.path.isabs(words[0]) and os.path.basename(words[0]) != "env":
            return words[0]
    return sys.executable


def python_version(python: str) -> str:
    out = subprocess.run(
        [python, "-S", "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.strip()


def clean_venv(python: str, directory: str, packages: tuple[str, ...] = ()) -> str:
    """A new virtual environment with nothing in it (no pip, no .pth); its python.

    Each of ``packages`` (importable by ``python``) is symlinked into its site-packages: the
    layout of a regular (wheel) install of ecrpy, without installing anything.
    """
    probe = "import sys; print(getattr(sys, '_base_executable', sys.executable))"
    base = subprocess.run(
        [python, "-S", "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run([base, "-m", "venv", "--without-pip", directory], check=True)
    clean = os.path.join(directory, "bin", "python")
    if packages:
        site = site_packages(clean)
        for name, path in package_dirs(python, packages).items():
            os.symlink(path, os.path.join(site, name))
    return clean


def package_dirs(python: str, names: tuple[str, ...]) -> dict[str, str]:
    """Where ``python`` imports each package from."""
    probe = (
        "import sys, importlib.util as u\n"
        "for name in sys.argv[1:]:\n"
        "    print(name, list(u.find_spec(name).submodule_search_locations)[0])\n"
    )
    out = subprocess.run(
        [python, "-c", probe, *names], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def site_packages(python: str) -> str:
    """The site-packages directory of ``python``'s environment."""
    probe = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return subprocess.run(
        [python, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()


def gnu_time() -> str | None:
    """GNU time, which reports a child's own peak RSS (see :func:`run.peak_rss`)."""
    path = "/usr/bin/time"
    if not os.access(path, os.X_OK):
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return path if "GNU" in out.stdout + out.stderr else None


# -- ecrpy as users install it -------------------------------------------------------------------

SOURCE_FILES = ("pyproject.toml", "README.md", "credential_helper", "scripts")


def copy_source(destination: str, ref: str | None = None) -> str:
    """This tree's package sources (or those of git ``ref``) in ``destination``, to install.

    A copy, so that an install's build files never land in the work tree.
    """
    os.makedirs(destination, exist_ok=True)
    if ref is None:
        for name in SOURCE_FILES:
            path = os.path.join(ROOT, name)
            if os.path.isdir(path):
                shutil.copytree(
                    path,
                    os.path.join(destination, name),
                    ignore=shutil.ignore_patterns("__pycache__"),
                )
            elif os.path.exists(path):
                shutil.copy(path, destination)
        return destination
    archive = subprocess.run(["git", "-C", ROOT, "archive", ref], capture_output=True, check=False)
    if archive.returncode != 0:
        raise BenchError(f"git archive {ref}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", destination], input=archive.stdout, check=True)
    return destination


def base_python() -> str:
    """The interpreter that made this venv (``python3 -m venv`` of a user's machine)."""
    return getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable


def fresh_venv(directory: str, source: str) -> tuple[str, str]:
    """``python3 -m venv`` + ``pip install .`` with the venv's own bundled pip, never upgraded.

    Returns the installed script and the pip version that wrote it.
    """
    subprocess.run([base_python(), "-m", "venv", directory], check=True, capture_output=True)
    pip = [os.path.join(directory, "bin", "python"), "-m", "pip"]
    done = subprocess.run([*pip, "install", "--quiet", source], capture_output=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"pip install into {directory} failed:\n{done.stderr.decode()[-2000:]}")
    version = subprocess.run([*pip, "--version"], capture_output=True, text=True, check=True)
    return os.path.join(directory, "bin", "docker-credential-ecrpy"), version.stdout.split()[1]


def pipx_install(directory: str, source: str) -> str | None:
    """``pipx install .`` with its home and bin directory under ``directory``; the script."""
    pipx = shutil.which("pipx")
    if pipx is None:
        return None
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": directory,
        "PIPX_HOME": os.path.join(directory, "pipx"),
        "PIPX_BIN_DIR": os.path.join(directory, "bin"),
    }
    done = subprocess.run(
        [pipx, "install", "--python", base_python(), source],
        env=env,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"pipx install failed:\n{done.stderr.decode()[-2000:]}")
    return os.path.join(directory, "bin", "docker-credential-ecrpy")


SYSTEM_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def ca_bundle(workdir: str, test_ca: str) -> tuple[str, int]:
    """A CA bundle of normal size: the system's, plus the fake's test CA; (path, certificates).

    A one-certificate bundle hides what loading a real one costs (botocore loads it per client).
    """
    parts = []
    for path in SYSTEM_CA_BUNDLES:
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                parts.append(handle.read())
            break
    with open(test_ca, encoding="utf-8") as handle:
        parts.append(handle.read())
    text = "\n".join(part.rstrip("\n") for part in parts) + "\n"
    path = os.path.join(workdir, "ca-bundle.pem")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path, text.count("BEGIN CERTIFICATE")


# -- dockerd, for the classic builder -----------------------------------------------------------


class Dockerd:
    """The e2e suite's daemon (:mod:`fakeaws.dockerd`, one harness for both), in a namespace of
    its own whose mount points it removes when stopped."""

    def __init__(self, workdir: str) -> None:
        sys.path.insert(0, ROOT)
        from pathlib import Path

        from fakeaws import dockerd, hosts

        if shutil.which("dockerd") is None and not os.path.exists("/usr/sbin/dockerd"):
            raise BenchError("dockerd is not installed (apt-get install docker.io)")
        root = Path(workdir) / "dockerd-namespace"
        root.mkdir(parents=True, exist_ok=True)
        # The hosts this process sees (the private ones, when the Go helpers run) stay the same.
        self.namespace = dockerd.Namespace(hosts.write_hosts(str(root / "hosts"), {}), root)
        try:
            self.daemon = dockerd.Dockerd(Path(workdir) / "dockerd", self.namespace)
        except dockerd.DockerdError as exc:
            self.namespace.close()
            raise BenchError(str(exc)) from None
        self.host = self.daemon.host

    def stop(self) -> None:
        self.daemon.stop()
        self.namespace.close()


def docker_cli() -> str | None:
    """The docker CLI whose classic builder is the default one (20.10), else any."""
    for path in ("/usr/bin/docker", shutil.which("docker")):
        if path and os.path.exists(path):
            return path
    return None
