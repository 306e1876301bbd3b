"""ecrpy's files: opened without blocking, checked, written atomically, locked with a bound.

Every file ecrpy opens, writes or locks goes through this module, so that each of these rules
has one home:

- **Opening** (:func:`open_fd`, :func:`read`). ``open("x")`` on a FIFO waits for a writer,
  forever, and with it every ``docker pull``; on a symlink it reads whatever the link names. So
  files are opened ``O_NONBLOCK | O_CLOEXEC``, with ``O_NOFOLLOW`` in ecrpy's own directories,
  then ``fstat`` on the descriptor, and anything that is not a regular file (of this user,
  where that applies) is refused with :class:`NotRegular` before a byte is read or written.
  The AWS files and the settings file are followed through symlinks, as botocore follows them
  (dotfile managers and Kubernetes secret mounts are symlinks).
- **Private directories** (:func:`private_dir`): a real directory of this user that others
  cannot write to. The check returns why not, and its owner decides: the token cache logs and
  goes on without a cache, the login store refuses.
- **Writing** (:func:`write_atomic`): a temporary file with a random name, created exclusively
  (``O_EXCL | O_NOFOLLOW``) in the target's directory with its mode, then renamed over the
  target: a reader never sees half a file, and nothing planted at a predictable name can
  redirect or block the write.
- **Locking** (:class:`Lock`, :func:`lock_within`): an exclusive lock waited for within a bound.

On Windows (chosen by ``sys.platform`` at call time, cheaply) the same rules, in Windows'
words: there are no owners and modes to check (a check says "not checked" rather than fail:
the directories ecrpy creates under ``%LOCALAPPDATA%`` are the user's profile's, and
``os.makedirs(mode=0o700)`` gives them an owner-only ACL from Python 3.12.4 and 3.13 on;
older Pythons let them inherit the parent's ACL, which under ``%LOCALAPPDATA%`` is the user's
profile's own); a reparse point (symlink, junction) is refused where POSIX uses ``O_NOFOLLOW``
(``lstat``'s ``FILE_ATTRIBUTE_REPARSE_POINT``, looked at just before the open); the lock is
``msvcrt.locking``, polled within the bound; a rename that meets a sharing violation (another
process reading the file, an anti-virus scan) is retried briefly.

Only ``os``, ``stat`` and ``sys`` (built into the interpreter) at import: this is on the warm
path (``errno`` is imported only when an open fails, the rest only on the cold path).
"""

import os
import stat
import sys

# A warm get imports this module: types are for mypy only (typing imports re, ~13 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# O_BINARY (Windows only): no newline translation, no Ctrl-Z as the end of a file.
_SAFE_FLAGS = getattr(os, "O_NONBLOCK", 0) | O_CLOEXEC | getattr(os, "O_BINARY", 0)

OWNERS_CHECKED = sys.platform != "win32"  # Windows reports no owner, and 0o777/0o666 modes

NOT_REGULAR = "not a regular file"
FOREIGN = "belongs to another user"
READABLE = "can be read by other users"


class NotRegular(OSError):
    """The path exists but is a FIFO, socket, device or directory, or another user's file.

    ``strerror`` is one of :data:`NOT_REGULAR`, :data:`FOREIGN`, :data:`READABLE`.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.strerror = reason


def _is_null(info: "os.stat_result", path: str) -> bool:
    """The null device (``/dev/null``, or a link to it; ``NUL`` on Windows): the usual way to
    say "no such file"."""
    if not stat.S_ISCHR(info.st_mode):
        return False
    if sys.platform == "win32":  # no st_rdev; CON or COM1 are devices too, never read
        return os.path.splitext(os.path.basename(path))[0].lower() == "nul"
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(null.st_mode) and info.st_rdev == null.st_rdev


def is_reparse_point(info: "os.stat_result") -> bool:
    """A symlink, junction or other reparse point (Windows; always False elsewhere)."""
    attributes: int = getattr(info, "st_file_attributes", 0)
    return bool(attributes & stat.FILE_ATTRIBUTE_REPARSE_POINT)


def _refuse_reparse_point(path: str) -> None:
    """Windows has no ``O_NOFOLLOW``: a link at ``path`` is refused as POSIX refuses it."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return  # a create: os.open makes a new file, and CREATE_NEW/O_EXCL never follows
    if is_reparse_point(info) or stat.S_ISLNK(info.st_mode):
        import errno

        raise OSError(errno.ELOOP, "a link or junction, not followed", path)


def open_fd(
    path: str,
    flags: int = os.O_RDONLY,
    *,
    mine: bool = False,
    private: bool = False,
    follow: bool = False,
    null: bool = False,
    mode: int = 0o600,
) -> int:
    """A descriptor of the regular file at ``path``, opened without blocking.

    ``mine``: it must also belong to this process's effective user (files in ecrpy's own
    directories); ``private``: and nobody else may read it. ``follow``: a symlink is followed
    (else refused with ``ELOOP``). ``null``: the null device is accepted (it reads as an empty
    file). Raises :class:`NotRegular` for anything else (also for a socket, or a FIFO opened for
    writing that nobody reads: ``ENXIO``), ``OSError`` as ``os.open`` does
    (``FileNotFoundError`` for a missing file, ``ELOOP`` for a symlink).
    """
    if sys.platform == "win32" and not follow:
        _refuse_reparse_point(path)
    try:
        fd = os.open(path, flags | _SAFE_FLAGS | (0 if follow else O_NOFOLLOW), mode)
    except FileNotFoundError:  # the usual miss (no ~/.aws/credentials ...): nothing to import
        raise
    except OSError as exc:
        import errno

        if exc.errno == errno.ENXIO:  # a socket, or a FIFO opened for writing that nobody reads
            raise NotRegular(path, NOT_REGULAR) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            if null and _is_null(info, path):
                return fd
            raise NotRegular(path, NOT_REGULAR)
        if sys.platform != "win32":  # no owners or modes to check on Windows
            if (mine or private) and info.st_uid != os.geteuid():
                raise NotRegular(path, FOREIGN)
            if private and info.st_mode & 0o077:
                raise NotRegular(path, READABLE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read(
    path: str,
    limit: "int | None" = None,
    *,
    mine: bool = False,
    private: bool = False,
    follow: bool = False,
    null: bool = False,
) -> "bytes | None":
    """The bytes of the regular file at ``path`` (see :func:`open_fd`); None when there is none.

    Raises :class:`NotRegular` for a file that is there but must not be read, ``OSError`` when
    it cannot be (permissions). With a ``limit``, at most ``limit + 1`` bytes, so that the
    caller can tell a file that is too large.
    """
    try:
        fd = open_fd(path, mine=mine, private=private, follow=follow, null=null)
    except FileNotFoundError:
        return None
    try:
        chunks = []
        left = -1 if limit is None else limit + 1
        while left:
            chunk = os.read(fd, 1 << 16 if left < 0 else left)
            if not chunk:
                break
            chunks.append(chunk)
            if left > 0:
                left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# -- private directories ------------------------------------------------------------------------

MISSING, FAILED, NOT_DIR, NOT_MINE, OPEN = "missing", "failed", "not-dir", "not-mine", "open"


class DirFault:
    """Why a directory is not private: a ``kind`` for the owner's decision, a ``reason`` to show."""

    __slots__ = ("kind", "reason")

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self.reason = reason

    def __repr__(self) -> str:
        return f"DirFault({self.kind!r}, {self.reason!r})"


def private_dir(directory: str, *, create: bool = False, closed: int = 0o022) -> "DirFault | None":
    """None when ``directory`` is a real directory (no symlink) of this user whose mode has none
    of the bits ``closed`` (by default: nobody else can write to it); else why not.

    ``create``: make it first (0700) when it is missing. On the warm path: one ``lstat``.
    """
    if create:
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            return DirFault(FAILED, f"cannot create {directory}: {exc.strerror}")
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return DirFault(MISSING, f"{directory} does not exist")
    except OSError as exc:
        return DirFault(FAILED, f"{directory}: {exc.strerror}")
    if not stat.S_ISDIR(info.st_mode) or is_reparse_point(info):
        return DirFault(NOT_DIR, f"{directory} is not a directory (or is a symlink)")
    if sys.platform == "win32":
        return None  # owner and mode: not checked (OWNERS_CHECKED), see the module's docstring
    if info.st_uid != os.geteuid():
        return DirFault(NOT_MINE, f"{directory} {FOREIGN} (uid {info.st_uid})")
    mode = stat.S_IMODE(info.st_mode)
    if mode & closed:
        what = "writable" if mode & closed & 0o022 else "readable"
        return DirFault(OPEN, f"{directory} is {what} by other users (mode {mode:04o})")
    return None


# -- writing -------------------------------------------------------------------------------------


def write_atomic(path: str, data: bytes, mode: int = 0o600, *, fsync: bool = False) -> None:
    """Replace ``path`` with ``data`` at once: a reader sees the old file or the new one.

    The bytes go to a temporary file in the same directory, named at random and created
    exclusively without following a link (``O_EXCL | O_NOFOLLOW``), with ``mode`` from its
    creation (set exactly, whatever the umask), then renamed over ``path``: a link or file
    planted at any name neither redirects nor blocks the write. ``path`` itself is replaced,
    never a symlink's target. ``fsync``: on disk before the rename (for what cannot be fetched
    again). Raises ``OSError``; no temporary file is left behind.
    """
    directory, name = os.path.split(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC
    flags |= getattr(os, "O_BINARY", 0)
    for _ in range(3):  # a name taken (48 random bits): another name
        temp = os.path.join(directory, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(temp, flags, mode)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"no free temporary name beside {path}")
    try:
        try:
            if sys.platform != "win32":  # Windows has only a read-only bit, and no fchmod < 3.13
                os.fchmod(fd, mode)  # the umask may have narrowed it
            while data:
                data = data[os.write(fd, data) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        _replace(temp, path)
    except BaseException:
        try:  # noqa: SIM105 - contextlib costs ~2 ms of import
            os.unlink(temp)
        except OSError:
            pass
        raise


def sharing_violation(exc: OSError) -> bool:
    """Windows refused a rename because another process has the file open (``ERROR_ACCESS_DENIED``
    or ``ERROR_SHARING_VIOLATION``): an anti-virus scan or a reader, gone in a moment."""
    return isinstance(exc, PermissionError) and getattr(exc, "winerror", None) in (5, 32)


def _replace(temp: str, path: str, attempts: int = 10) -> None:
    """``os.replace``, retried briefly on Windows while another process holds ``path`` open."""
    pause = 0.01
    for _ in range(attempts - 1):
        try:
            os.replace(temp, path)
            return
        except PermissionError as exc:
            if not sharing_violation(exc):
                raise
        import time

        time.sleep(pause)
        pause = min(pause * 2, 0.2)
    os.replace(temp, path)


# -- locking -------------------------------------------------------------------------------------


class Lock:
    """An exclusive lock on the lock file ``path``, waited for at most ``timeout`` seconds
    (no ``path``: nothing to lock, nothing done).

    Entering never raises by itself: when the lock cannot be had (the file cannot be opened or
    locked, or another process holds it past the bound), ``problem`` says why (``busy`` when it
    was held), and ``report`` (if given) is called with the lock; the owner decides. The token
    cache logs and goes on unlocked (a second fetch is better than a hung ``docker pull``); the
    login store raises (a change without the lock could lose another process's login).
    """

    def __init__(
        self, path: "str | None", timeout: float, report: "Callable[[Lock], None] | None" = None
    ) -> None:
        self.path = path
        self.timeout = timeout
        self.report = report
        self.fd: int | None = None
        self.problem: str | None = None
        self.busy = False

    def __enter__(self) -> "Lock":
        if self.path is None:
            return self
        try:
            self.fd = open_fd(self.path, os.O_RDWR | os.O_CREAT, mine=True)
        except OSError as exc:
            self.problem = f"cannot open lock {self.path}: {exc.strerror}"
        else:
            try:
                if not lock_within(self.fd, self.timeout):
                    self.busy = True
                    self.problem = f"lock {self.path} still held after {self.timeout:.0f}s"
            except OSError as exc:
                self.problem = f"cannot lock {self.path}: {exc.strerror}"
        if self.problem is not None and self.report is not None:
            try:
                self.report(self)
            except BaseException:
                self.__exit__()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            if sys.platform == "win32" and self.problem is None:
                _unlock_windows(self.fd)
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None


def lock_within(fd: int, timeout: float) -> bool:
    """An exclusive ``flock`` on ``fd``: True once held, False if not within ``timeout`` s.

    Uncontended, one non-blocking call. Contended, the waiter blocks in ``flock`` under a
    real-time alarm (:class:`deadline.Deadline`), so it wakes the moment the holder is done
    instead of polling; off the main thread, where no alarm can be set, it polls. Raises
    ``OSError`` when the file cannot be locked at all. On Windows, ``msvcrt.locking`` of the
    first byte, polled (it has no wait that another process's unlock ends).
    """
    if sys.platform == "win32":
        return _lock_windows(fd, timeout)
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True  # nobody held it
    except BlockingIOError:
        pass
    from .deadline import Deadline
    from .errors import TokenUnavailable

    try:
        with Deadline(timeout, "waiting for the lock") as alarm:
            if alarm.armed:
                fcntl.flock(fd, fcntl.LOCK_EX)
                return True
    except TokenUnavailable:
        return False

    def attempt() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    return _poll(attempt, timeout)  # no alarm off the main thread


def held_elsewhere(exc: OSError) -> bool:
    """``msvcrt.locking`` failed because another process holds the region (not an error)."""
    import errno

    return exc.errno in (errno.EACCES, errno.EDEADLK)


if sys.platform == "win32":

    def _lock_windows(fd: int, timeout: float) -> bool:
        import msvcrt

        def attempt() -> bool:
            os.lseek(fd, 0, os.SEEK_SET)
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError as exc:
                if held_elsewhere(exc):
                    return False
                raise
            return True

        return attempt() or _poll(attempt, timeout)

    def _unlock_windows(fd: int) -> None:
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass  # closing the descriptor releases it too


def _poll(attempt: "Callable[[], bool]", timeout: float) -> bool:
    """``attempt()`` until it is True, with a growing pause, for at most ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    pause = 0.005
    while time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
        if attempt():
            return True
    return False
