"""Run a fallback credential helper on Windows: :func:`run`, as :func:`fallback.run` on POSIX.

The helper and everything it starts are ended as one at the deadline, by a Job object (through
ctypes): Windows has no process groups to signal. A credential helper that hangs may be a launcher
waiting on a child (a ``.bat`` runs ``cmd.exe``, Docker Desktop's helper talks to a service), so
killing the one process ecrpy started would leave the rest running. A Job object holds the
process from before its first instruction (it is created suspended, assigned, then resumed), and
every process it starts joins the job; ``TerminateJobObject`` ends them all at once, whichever
have exited or been re-parented. ``taskkill /T`` was the other way: it walks parent process ids
at the moment it runs, so it misses a child whose parent already exited and may hit a reused id,
and it is one more program to start at the deadline.

Pipes cannot be ``select``-ed on Windows: a thread feeds stdin, and stdout is read as it fills
(``PeekNamedPipe``), so the answer is complete the moment the helper exits even when a process it
started still holds stdout open. :mod:`subprocess` is fine here: Windows has no warm ``get`` of a
registry that is not ECR to keep lean. Imported by :mod:`credential_helper.fallback` on Windows
only.
"""

from __future__ import annotations

import sys

assert sys.platform == "win32"  # mypy checks this module for Windows only

import _winapi  # noqa: E402
import contextlib  # noqa: E402
import ctypes  # noqa: E402
import msvcrt  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Mapping  # noqa: E402
from ctypes import wintypes  # noqa: E402
from typing import IO  # noqa: E402

from .fallback import MAX_OUTPUT, FallbackError  # noqa: E402

_CHUNK = 65536  # bytes per write to the helper's stdin and per read of its stdout

CREATE_SUSPENDED = 0x00000004
_PROCESS_RIGHTS = 0x0001 | 0x0100 | 0x0800  # TERMINATE, SET_QUOTA, SUSPEND_RESUME

_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
_kernel32.CreateJobObjectW.argtypes = (wintypes.LPVOID, wintypes.LPCWSTR)
_kernel32.CreateJobObjectW.restype = wintypes.HANDLE
_kernel32.AssignProcessToJobObject.argtypes = (wintypes.HANDLE, wintypes.HANDLE)
_kernel32.AssignProcessToJobObject.restype = wintypes.BOOL
_kernel32.TerminateJobObject.argtypes = (wintypes.HANDLE, wintypes.UINT)
_kernel32.TerminateJobObject.restype = wintypes.BOOL
_ntdll = ctypes.WinDLL("ntdll")
_ntdll.NtResumeProcess.argtypes = (wintypes.HANDLE,)
_ntdll.NtResumeProcess.restype = ctypes.c_long


def _check(ok: object) -> None:
    if not ok:
        raise ctypes.WinError(ctypes.get_last_error())


class Job:
    """A Job object; :meth:`adopt` a process started with :data:`CREATE_SUSPENDED`."""

    def __init__(self) -> None:
        handle = _kernel32.CreateJobObjectW(None, None)
        _check(handle)
        self.handle: int = handle

    def adopt(self, pid: int) -> None:
        """Put the suspended process ``pid`` in the job, then let it run. Raises OSError."""
        process = _winapi.OpenProcess(_PROCESS_RIGHTS, False, pid)
        try:
            _check(_kernel32.AssignProcessToJobObject(self.handle, process))
            status = _ntdll.NtResumeProcess(process)
            if status < 0:
                raise OSError(f"NtResumeProcess failed (NTSTATUS {status & 0xFFFFFFFF:#x})")
        finally:
            _winapi.CloseHandle(process)

    def terminate(self) -> None:
        """End every process in the job (exit code 1)."""
        _kernel32.TerminateJobObject(self.handle, 1)

    def close(self) -> None:
        """Let go of the job; processes still in it go on running (as on POSIX, where only a
        helper that misses the deadline is stopped)."""
        if self.handle:
            _winapi.CloseHandle(self.handle)
            self.handle = 0


def run(
    path: str, action: str, data: bytes, environ: Mapping[str, str], seconds: float
) -> tuple[int, bytes]:
    """``path action`` with ``data`` on stdin: (exit code, stdout). Raises FallbackError.

    The helper gets ecrpy's environment and stderr; at the deadline it is ended with every
    process it started (the job).
    """
    try:
        job = Job()
        helper = subprocess.Popen(  # noqa: S603  (the helper the settings name, found on PATH)
            [path, action],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=dict(environ),
            bufsize=0,
            creationflags=CREATE_SUSPENDED,
        )
    except OSError as exc:
        raise FallbackError(f"cannot be started ({exc.strerror or exc})") from None
    assert helper.stdin is not None and helper.stdout is not None
    code: int | None = None
    output = b""
    try:
        try:
            job.adopt(helper.pid)
        except OSError as exc:
            helper.kill()
            raise FallbackError(f"cannot be started ({exc.strerror or exc})") from None
        threading.Thread(target=_feed, args=(helper.stdin, data), daemon=True).start()
        code, output = _collect(helper, time.monotonic() + seconds)
    finally:
        if code is None:  # the deadline, too much output, or KeyboardInterrupt
            job.terminate()
            helper.wait()
        helper.stdout.close()
        job.close()
    if code is None and len(output) > MAX_OUTPUT:
        raise FallbackError(f"printed more than {MAX_OUTPUT} bytes and was stopped")
    if code is None:
        raise FallbackError(f"gave no answer within {seconds:g} s and was stopped")
    return code, output


def _feed(stdin: IO[bytes], data: bytes) -> None:
    """The stdin thread: all of ``data``, then end of file."""
    with contextlib.suppress(OSError):  # it stopped reading: its answer decides, not ours
        view = memoryview(data)
        while view:
            view = view[stdin.write(view[:_CHUNK]) or 0 :]
    with contextlib.suppress(OSError):
        stdin.close()


def _collect(helper: subprocess.Popen[bytes], deadline: float) -> tuple[int | None, bytes]:
    """(exit code, stdout) once the helper exits; (None, what came) at the deadline or past
    :data:`MAX_OUTPUT`. Reads only what the pipe holds, so a process the helper started that
    keeps stdout open does not hold up the answer."""
    assert helper.stdout is not None
    fd = helper.stdout.fileno()
    handle = msvcrt.get_osfhandle(fd)
    chunks: list[bytes] = []
    size = 0
    pause = 0.0005
    while size <= MAX_OUTPUT:
        code = helper.poll()  # first: once it has exited, all it wrote is in the pipe
        try:
            waiting = int(_winapi.PeekNamedPipe(handle, 0)[0])
        except BrokenPipeError:  # every writer has closed stdout
            waiting = -1
        if waiting > 0:
            chunk = os.read(fd, min(waiting, _CHUNK))
            chunks.append(chunk)
            size += len(chunk)
            pause = 0.0005
            continue
        if code is not None:
            return code, b"".join(chunks)
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if waiting < 0:  # nothing more can come: wait for the exit itself
            with contextlib.suppress(subprocess.TimeoutExpired):
                helper.wait(left)
            continue
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)
    return None, b"".join(chunks)
