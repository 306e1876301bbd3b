"""A hard upper bound on the time a token fetch may take.

botocore's connect and read timeouts bound each attempt, but not their sum: retries, backoff,
an STS call before the ECR one, a slow instance-metadata service and DNS add up. The Go helper
can hang a build for minutes when offline. The fetch therefore runs under a real-time alarm;
when it rings, the fetch is abandoned with a :class:`TokenUnavailable`, which the token policy
turns into a cached token (stale-if-error) or a one-line error.

The alarm is armed only around the network call, never around a cache write, so an interrupted
fetch cannot leave a half-written file. Off the main thread (or without SIGALRM) it is a no-op
and botocore's own timeouts are the bound. Should anything swallow the alarm (a bare ``except``
in a library), it rings once more :data:`GRACE` seconds later and ends the process with the
same one line on stderr: the bound holds whatever runs under it.
"""

from __future__ import annotations

from .errors import NETWORK, TokenUnavailable

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

    def message(self) -> str:
        return f"gave up after {self.seconds:g} s {self.doing} (no answer in time; {self.hint})"

    @property
    def armed(self) -> bool:
        """True inside the ``with`` when the alarm is set (on the main thread, with SIGALRM)."""
        return self._armed

    def _ring(self, signum: int, frame: object) -> None:
        import signal

        if self._rung:  # the first ring was swallowed somewhere: leave, in one line
            import os

            os.write(2, f"ecrpy: {self.message()}\n".encode())
            os._exit(1)
        self._rung = True
        signal.setitimer(signal.ITIMER_REAL, GRACE)
        raise Expired

    def __enter__(self) -> Deadline:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            self._previous = signal.signal(signal.SIGALRM, self._ring)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self._armed = True
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if self._armed:
            import signal

            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)  # type: ignore[arg-type]
            self._armed = False
        if kind is Expired:
            raise TokenUnavailable(self.message(), NETWORK) from None
