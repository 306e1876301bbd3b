"""The benchmark's world: a fake ECR/STS on loopback that both helpers reach, and how to run them.

The Go helper (``docker-credential-ecr-login`` 0.6.0) predates ``AWS_ENDPOINT_URL_*``: it can
only reach the fake by the real AWS hostnames, over TLS, on port 443. So the benchmark runs in
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
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        reap(self.process)

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
        env = {"SSL_CERT_FILE": self.ca, "AWS_CA_BUNDLE": self.ca}
        if self.port != 443:  # no private /etc/hosts: only ecrpy, through endpoint settings
            for service in ("ECR", "STS"):
                env[f"AWS_ENDPOINT_URL_{service}"] = self.url
        return env


# -- helpers and interpreters ------------------------------------------------------------------


def go_helper() -> str | None:
    return shutil.which("docker-credential-ecr-login")


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
