"""A hard upper bound on the time a token fetch may take.

botocore's connect and read timeouts bound each attempt, but not their sum: retries, backoff,
an STS call before the ECR one, a slow instance-metadata service and DNS add up. The Go helper
can hang a build for minutes when offline. The fetch therefore runs under a real-time alarm;
when it rings, the fetch is abandoned with a :class:`TokenUnavailable`, which the token policy
turns into a cached token (stale-if-error) or a one-line error.

The alarm is armed only around the network call, never around a cache write, so an interrupted
fetch cannot leave a half-written file. Off the main thread it is a no-op and botocore's own
timeouts are the bound. Should anything swallow the alarm (a bare ``except`` in a library), it
rings once more :data:`GRACE` seconds later and ends the process with the same one line on
stderr: the bound holds whatever runs under it.

Windows has no SIGALRM. There a watcher thread keeps the time; when it runs out it raises SIGINT
in the process (``signal.raise_signal``: the C runtime runs Python's handler, which wakes the main
thread from a sleep or a wait as Ctrl-C does), and the handler installed for the ``with`` raises
the same :class:`Expired` in the main thread; a real Ctrl-C stays a KeyboardInterrupt. A call
blocked in the kernel (a socket read) is not interrupted there, so :attr:`Deadline.armed` stays
False and a lock waiter polls; the second ring, the watcher's ``os._exit`` after :data:`GRACE`,
bounds it all the same.
"""

from __future__ import annotations

import sys

from .errors import NETWORK, TokenUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType

TIMEOUT_ENV = "ECRPY_TIMEOUT"
DEFAULT_TIMEOUT = 20.0  # seconds a fetch may take in all


def timeout_from(value: str | None) -> float:
    """``ECRPY_TIMEOUT`` as seconds: a positive number up to an hour, else the default."""
    try:
        seconds = float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
    return seconds if 0 < seconds <= 3600 else DEFAULT_TIMEOUT


GRACE = 3.0  # seconds between a swallowed alarm and the hard exit


class Expired(BaseException):
    """The alarm. Not an Exception on purpose: botocore wraps any Exception raised inside the
    HTTP layer in HTTPClientError, which its retry modes treat as transient and retry."""


class Deadline:
    """``with Deadline(20, "getting a token for host"):`` raises TokenUnavailable after 20 s.

    ``hint`` is what the message advises (by default: the ``ECRPY_TIMEOUT`` to set).
    """

    def __init__(self, seconds: float, doing: str, hint: str = "") -> None:
        self.seconds = seconds
        self.doing = doing
        self.hint = hint or f"set {TIMEOUT_ENV} to wait longer"
        self._previous: object = None
        self._armed = False
        self._rung = False
        self._watcher: _Watcher | None = None  # Windows

    def message(self) -> str:
        return f"gave up after {self.seconds:g} s {self.doing} (no answer in time; {self.hint})"

    @property
    def armed(self) -> bool:
        """True inside the ``with`` when the alarm is set and interrupts a blocking system call
        (on the main thread, with SIGALRM: not on Windows)."""
        return self._armed

    def _leave(self) -> None:
        """The second ring: whatever swallowed the first, the process ends here, in one line."""
        import os

        os.write(2, f"ecrpy: {self.message()}\n".encode())
        os._exit(1)

    def _ring(self, signum: int, frame: object) -> None:
        import signal

        if sys.platform == "win32":
            return
        if self._rung:  # the first ring was swallowed somewhere: leave, in one line
            self._leave()
        self._rung = True
        signal.setitimer(signal.ITIMER_REAL, GRACE)
        raise Expired

    def __enter__(self) -> Deadline:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return self
        if sys.platform == "win32":
            self._watcher = _Watcher(self)
        else:
            self._previous = signal.signal(signal.SIGALRM, self._ring)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self._armed = True
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        elif sys.platform != "win32" and self._armed:
            import signal

            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)  # type: ignore[arg-type]
            self._armed = False
        if kind is Expired:
            raise TokenUnavailable(self.message(), NETWORK) from None


class _Watcher:
    """Windows: the thread that keeps a :class:`Deadline`'s time, where there is no SIGALRM.

    At the deadline it raises SIGINT in the process: the C runtime runs Python's handler in the
    watcher's thread, which wakes the main thread from a sleep or a wait as Ctrl-C would, and the
    main thread then runs :meth:`interrupt`, which raises :class:`Expired`. A real Ctrl-C (before
    the ring) still reaches the handler that was there before. The lock makes the ring and the
    end of the ``with`` exclusive: a ring either lands while the ``with`` runs or not at all.
    """

    def __init__(self, deadline: Deadline) -> None:
        import signal
        import threading

        self.deadline = deadline
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.rung = False
        self.previous = signal.signal(signal.SIGINT, self.interrupt)
        threading.Thread(target=self.watch, name="ecrpy-deadline", daemon=True).start()

    def watch(self) -> None:
        import signal

        if self.done.wait(self.deadline.seconds):
            return
        with self.lock:
            if self.done.is_set():
                return
            self.rung = True
            signal.raise_signal(signal.SIGINT)
        if not self.done.wait(GRACE):
            self.deadline._leave()  # the second ring

    def interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.rung:
            if not self.done.is_set():
                raise Expired
            return  # the ``with`` is over: nothing to stop
        if callable(self.previous):
            self.previous(signum, frame)
        else:
            raise KeyboardInterrupt

    def stop(self) -> None:
        import signal

        with self.lock:
            self.done.set()
        _checkpoint()  # a ring already raised is handled here, by interrupt, while it is ours
        signal.signal(signal.SIGINT, self.previous)


def _checkpoint() -> None:
    """A Python-level call: the interpreter runs the handlers of pending signals on entering it."""
