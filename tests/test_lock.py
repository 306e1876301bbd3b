"""Waiters block on the fetch lock (flock under the deadline's alarm) instead of polling it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from credential_helper import log
from credential_helper.cache import TokenCache
from credential_helper.safefile import Lock
from fakeaws.server import FakeAWS
from tests.conftest import REGISTRY, Helper

HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


class Holder:
    """Another process holding the flock of ``path`` until :meth:`release`."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "held\n"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[Path, Holder]]:
    path = tmp_path / "host.identity.lock"  # the token cache's lock of ("host", "identity")
    held = Holder(path)
    yield path, held
    if held.proc.poll() is None:
        held.release()


def blocked_in_flock(pid: int) -> bool:
    """The kernel lists ``pid`` as waiting for a flock (``->`` lines of /proc/locks)."""
    with open("/proc/locks") as handle:
        return any("->" in line and f" {pid} " in line for line in handle)


def test_a_waiting_get_blocks_in_flock_and_goes_on_when_the_holder_is_done(
    helper: Helper, env: dict[str, str], fake: FakeAWS
) -> None:
    helper.get(REGISTRY, env)
    cache = Path(env["HOME"]) / ".cache" / "ecrpy"
    (token,) = cache.glob(f"{REGISTRY}.*.json")
    token.unlink()  # the next get is cold and takes the lock
    held = Holder(token.with_suffix(".lock"))
    request = cache.parent / "request"
    request.write_text(REGISTRY)
    with request.open("rb") as stdin:
        waiter = subprocess.Popen(
            [helper.path, "get"],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
    for _ in range(3000):  # a bound on the look, not a timing: the kernel's list is the proof
        if blocked_in_flock(waiter.pid):
            break
        assert waiter.poll() is None, "the waiter did not wait for the lock"
        time.sleep(0.01)
    else:
        pytest.fail("the waiter never blocked in flock")
    held.release()
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    assert b"123456789012-auth-token" in out
    assert fake.count("GetAuthorizationToken") == 2


def test_a_lock_held_too_long_is_given_up_and_the_alarm_restored(
    holder: tuple[Path, Holder], tmp_path: Path
) -> None:
    path, _ = holder
    log.configure(str(tmp_path), "warning")
    before = signal.getsignal(signal.SIGALRM)
    with TokenCache(str(tmp_path)).lock("host", "identity", timeout=0.2) as lock:
        assert lock.path == str(path) and lock.busy  # the holder's lock, given up
        assert lock.fd is not None  # it goes on unlocked
    assert signal.getsignal(signal.SIGALRM) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert "still held after" in (tmp_path / "ecrpy.log").read_text()


def test_off_the_main_thread_a_waiter_polls_and_gets_the_lock(
    holder: tuple[Path, Holder],
) -> None:
    path, held = holder
    got: list[bool] = []
    started = threading.Event()

    def wait() -> None:
        lock = Lock(str(path), timeout=60)
        started.set()
        with lock:
            # Ours now: another process cannot take it.
            probe = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_RDWR);"
                    "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)",
                    str(path),
                ],
                capture_output=True,
                check=False,
            )
            got.append(probe.returncode != 0)

    thread = threading.Thread(target=wait)
    thread.start()
    started.wait()
    held.release()
    thread.join(timeout=60)
    assert got == [True]


def test_the_lock_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "y.lock"
    with Lock(str(path), timeout=1):
        assert os.stat(path).st_mode & 0o777 == 0o600
