"""A private mount namespace and a dockerd of our own in it: the one harness that the end-to-end
suite (``tests/e2e``) and ``make bench`` (its classic ``docker build`` scenarios) both start.

The namespace (see :mod:`fakeaws.hosts`) has our ``/etc/hosts`` and temporary directories
bind-mounted over the system paths a client or the daemon writes to (``/etc/docker``,
``/run/docker``, ``/opt/containerd``, ``/etc/containers`` ...): the machine keeps none of their
state. The daemon runs with vfs storage and no networking, its own roots and its own socket,
and is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from fakeaws import hosts

_BIND_ALL = (
    'while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit 1; shift 2; done; shift; exec "$@"'
)
START_TIMEOUT = 120.0  # seconds; a busy 2-core machine starts dockerd slowly


def end(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Stop a service we started, by its PID: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout)


class DockerdError(RuntimeError):
    """dockerd did not start (its log's last lines in the message)."""


class Namespace:
    """Runs commands with our /etc/hosts and temp directories over system paths.

    Mount points that do not exist on the machine are created for the session and removed at the
    end (they stay empty: everything written under them lands in our temp directories).
    """

    def __init__(self, hosts_file: str, root: Path) -> None:
        self.hosts_file = hosts_file
        self.root = root
        self.created: list[Path] = []

    def private_dir(self, owner: str, target: str) -> Path:
        """A temp directory that ``owner``'s commands see at ``target``."""
        path = Path(target)
        if not path.exists():
            missing = [p for p in [path, *path.parents] if not p.exists()]
            path.mkdir(parents=True)
            self.created.extend(reversed(missing))
        source = self.root / owner / target.strip("/").replace("/", "_")
        source.mkdir(parents=True, exist_ok=True)
        return source

    def command(self, argv: Sequence[str], binds: Mapping[str, Path]) -> list[str]:
        pairs = [item for target, source in binds.items() for item in (str(source), target)]
        inner = ["sh", "-c", _BIND_ALL, "sh", *pairs, "--", *argv]
        return hosts.command(self.hosts_file, inner)

    def close(self) -> None:
        for path in reversed(self.created):
            # Not empty: something outside the namespace put files there, not ours to delete.
            with contextlib.suppress(OSError):
                path.rmdir()
        self.created.clear()


class Dockerd:
    """A daemon of our own: vfs storage, no networking, its own roots and socket.

    ``registries`` get ``ca`` in ``/etc/docker/certs.d/<host>/ca.crt``, as a user does for a
    registry with a private CA. Raises :class:`DockerdError` when the daemon does not answer.
    """

    def __init__(
        self,
        directory: Path,
        namespace: Namespace,
        ca: str | None = None,
        registries: Sequence[str] = (),
        timeout: float = START_TIMEOUT,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        etc_docker = namespace.private_dir("dockerd", "/etc/docker")
        for host in registries if ca else ():
            certs = etc_docker / "certs.d" / host
            certs.mkdir(parents=True, exist_ok=True)
            shutil.copy(str(ca), certs / "ca.crt")
        binds = {
            "/etc/docker": etc_docker,
            "/run/docker": namespace.private_dir("dockerd", "/run/docker"),
            "/opt/containerd": namespace.private_dir("dockerd", "/opt/containerd"),
        }
        # Unix sockets need short paths: the exec root (containerd's sockets) goes in /tmp.
        self.exec_root = Path(tempfile.mkdtemp(prefix="ecrpy-dockerd-", dir="/tmp"))
        self.socket = self.exec_root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.data_root = directory / "data"
        argv = [
            shutil.which("dockerd") or "/usr/sbin/dockerd",
            "--storage-driver=vfs",
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            f"--data-root={self.data_root}",
            f"--exec-root={self.exec_root / 'exec'}",
            f"--pidfile={self.exec_root / 'docker.pid'}",
            f"--host={self.host}",
        ]
        env = {
            "PATH": os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(directory),
        }
        self.log = directory / "dockerd.log"
        self._log = self.log.open("ab")
        self.process = subprocess.Popen(
            namespace.command(argv, binds),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.pid = self.process.pid
        try:
            self._wait(timeout)
        except BaseException:  # leave no daemon and no temp dir behind
            self.stop()
            raise

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._ping():
            if self.process.poll() is not None:
                raise DockerdError(f"dockerd exited ({self.process.returncode}):\n{self.tail()}")
            if time.monotonic() > deadline:
                raise DockerdError(f"dockerd: no API socket after {timeout:.0f}s:\n{self.tail()}")
            time.sleep(0.1)

    def _ping(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            with socket.socket(socket.AF_UNIX) as conn:
                conn.settimeout(2)
                conn.connect(str(self.socket))
                conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return conn.recv(64).startswith(b"HTTP/1.0 200")
        except OSError:
            return False

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        end(self.process, timeout)
        self._log.close()
        shutil.rmtree(self.data_root, ignore_errors=True)  # vfs copies every layer: keep no disk
        shutil.rmtree(self.exec_root, ignore_errors=True)
