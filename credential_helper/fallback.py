"""Run another credential helper (``docker-credential-<name>``) exactly as Docker would.

With ``"credsStore": "ecrpy"`` every registry that is not ECR is handed to the store ecrpy
replaced: the same action in argv, the same bytes on stdin; its stdout and exit code come back,
and its stderr goes straight to ours (Docker shows it). The only thing ecrpy adds is a bound: a
helper that hangs (a locked keychain, a pinentry nobody answers) is killed after the same
deadline as a token fetch, instead of hanging ``docker pull`` for ever.

Built on ``os.posix_spawn`` and ``select`` rather than :mod:`subprocess`, which would import
threading, signal and selectors into every request for a registry that is not ECR.

On Windows (Docker Desktop's ``desktop`` or ``wincred``) the helper is found as Go's
``exec.LookPath`` finds it there, by the names PATHEXT lists, and run by
:mod:`credential_helper.fallback_windows`, in a Job object that ends it and everything it started
at the deadline.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs ~13 ms of start-up (it imports re): types only for mypy
if TYPE_CHECKING:
    from collections.abc import Mapping

PREFIX = "docker-credential-"
MAX_OUTPUT = 4 * 1024 * 1024  # a login or a list is kilobytes; more is a helper gone wrong
_CHUNK = 65536


class FallbackError(Exception):
    """The fallback could not be run or did not answer in time; the message says why, to follow
    the helper's name ("docker-credential-pass cannot be started: ...")."""


def program(name: str) -> str:
    return PREFIX + name


def find(name: str, environ: Mapping[str, str]) -> str | None:
    """The executable Docker would run for ``name``: the first on PATH.

    Relative PATH entries (``.``, an empty one) are skipped, as Go's ``exec.LookPath`` refuses
    them: a ``docker-credential-pass`` in the current directory is never run.
    """
    if sys.platform == "win32":
        return _find_windows(program(name), environ)
    for directory in (environ.get("PATH") or os.defpath).split(os.pathsep):
        if not os.path.isabs(directory):
            continue
        candidate = os.path.join(directory, program(name))
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


WINDOWS_PATHEXT = ".COM;.EXE;.BAT;.CMD"  # Go's default when PATHEXT is unset


def _find_windows(file: str, environ: Mapping[str, str]) -> str | None:
    """Go's ``exec.LookPath`` on Windows: each PATH entry (quotes removed), ``file`` as it is if
    it has an extension, then ``file`` plus each PATHEXT extension. Entries without a drive or a
    share (relative, or ``\\dir``) are skipped, as Go refuses a relative result."""
    extensions = [
        e.lower() for e in (environ.get("PATHEXT") or WINDOWS_PATHEXT).split(";") if e[:1] == "."
    ]
    names = ([file] if "." in file else []) + [file + e for e in extensions]
    for directory in _split_path_list(environ.get("PATH") or ""):
        if not (os.path.isabs(directory) and os.path.splitdrive(directory)[0]):
            continue
        for name in names:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return candidate
    return None


def _split_path_list(value: str) -> list[str]:
    """A Windows PATH's entries: ``;`` separates them except between double quotes, which go."""
    entries: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            entries.append("".join(current))
            current = []
        else:
            current.append(char)
    entries.append("".join(current))
    return entries


def _signals() -> tuple[int, int]:
    """(SIGPIPE, SIGKILL), from the C module: ``signal`` imports ``enum``, ~1.5 ms."""
    module = __import__("_signal")
    return int(module.SIGPIPE), int(module.SIGKILL)


def run(
    path: str, action: str, data: bytes, environ: Mapping[str, str], seconds: float
) -> tuple[int, bytes]:
    """``path action`` with ``data`` on stdin: (exit code, stdout). Raises FallbackError.

    The helper gets ecrpy's environment and stderr. It is killed once ``seconds`` have passed,
    with every process it started (it runs in a process group of its own; on Windows, in a Job).
    """
    if sys.platform == "win32":
        from .fallback_windows import run as run_windows

        return run_windows(path, action, data, environ, seconds)
    import time

    sigpipe, sigkill = _signals()
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    try:
        pid = os.posix_spawn(
            path,
            [path, action],
            dict(environ),
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin_r, 0),
                (os.POSIX_SPAWN_DUP2, stdout_w, 1),
            ],
            setsigdef=(sigpipe,),  # Python ignores SIGPIPE; the helper must not inherit it
            setpgroup=0,  # its own group: a hung helper is stopped with what it started (gpg ...)
        )
    except OSError as exc:
        for fd in (stdin_r, stdin_w, stdout_r, stdout_w):
            os.close(fd)
        raise FallbackError(f"cannot be started ({exc.strerror})") from None
    os.close(stdin_r)
    os.close(stdout_w)
    deadline = time.monotonic() + seconds
    try:
        output, status = _exchange(pid, stdin_w, stdout_r, data, deadline)
    except BaseException:  # KeyboardInterrupt: leave nothing running behind
        status = None
        raise
    finally:
        os.close(stdout_r)
        if status is None:
            os.killpg(pid, sigkill)
            os.waitpid(pid, 0)
    if len(output) > MAX_OUTPUT:
        raise FallbackError(f"printed more than {MAX_OUTPUT} bytes and was stopped")
    if status is None:
        raise FallbackError(f"gave no answer within {seconds:g} s and was stopped")
    code = os.waitstatus_to_exitcode(status)
    return (code if code >= 0 else 128 - code), output


def _exchange(
    pid: int, stdin_w: int, stdout_r: int, data: bytes, deadline: float
) -> tuple[bytes, int | None]:
    """Feed stdin, collect stdout until the helper exits; (stdout, wait status or None on time)."""
    if sys.platform == "win32":
        raise NotImplementedError  # POSIX only (and mypy --platform win32 skips the rest)
    import select
    import time

    os.set_blocking(stdin_w, False)
    pending = memoryview(data)
    chunks: list[bytes] = []
    size = 0
    writing: int | None = stdin_w
    if not pending:
        os.close(stdin_w)
        writing = None
    reading = True
    try:
        while reading or writing is not None:
            left = deadline - time.monotonic()
            if left <= 0 or size > MAX_OUTPUT:
                return b"".join(chunks), None
            # Short waits: a daemon the helper started may hold stdout open after it exits.
            readable, writable, _ = select.select(
                [stdout_r] if reading else [],
                [writing] if writing is not None else [],
                [],
                min(left, 0.05),
            )
            if writable and writing is not None:
                try:
                    pending = pending[os.write(writing, pending[:_CHUNK]) :]
                except BlockingIOError:
                    pass
                except BrokenPipeError:  # it stopped reading: its answer decides, not ours
                    pending = pending[:0]
                if not pending:
                    os.close(writing)
                    writing = None
            if readable:
                chunk = os.read(stdout_r, _CHUNK)
                chunks.append(chunk)
                size += len(chunk)
                reading = bool(chunk)
            elif not writable:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    return b"".join(chunks) + _drain(stdout_r), status
        return b"".join(chunks), _wait(pid, deadline)
    finally:
        if writing is not None:
            os.close(writing)


def _wait(pid: int, deadline: float) -> int | None:
    """The wait status once the helper exits, or None when it is still running at the deadline."""
    if sys.platform == "win32":
        raise NotImplementedError  # POSIX only (and mypy --platform win32 skips the rest)
    import time

    pause = 0.0005
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)


def _drain(fd: int) -> bytes:
    """What is left in a pipe whose writer has exited, without waiting for its other holders."""
    if sys.platform == "win32":
        raise NotImplementedError  # POSIX only (and mypy --platform win32 skips the rest)
    os.set_blocking(fd, False)
    chunks = []
    try:
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
    except BlockingIOError:
        pass
    return b"".join(chunks)
