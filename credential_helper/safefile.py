"""Opening a file someone else may have planted: never blocking on it, never following a link.

``open("x")`` on a FIFO waits for a writer, forever, and with it every ``docker pull``; on a
symlink it reads whatever the link names. So every file ecrpy opens by name (its token cache
files, failure records, lock files and log, its settings file, the AWS config and credentials
files the identity fingerprint reads) is opened here: ``O_NONBLOCK | O_CLOEXEC``, with
``O_NOFOLLOW`` in ecrpy's own cache directory, then ``fstat`` on the descriptor, and anything that
is not a regular file (of this user, where that applies) is refused with :class:`NotRegular`
before a byte is read or written. A FIFO, socket or device is never waited on: ``O_NONBLOCK``
makes the open itself return at once.

The AWS files and the settings file are followed through symlinks, as botocore follows them
(dotfile managers and Kubernetes secret mounts are symlinks): not following would leave their
content out of the identity fingerprint.

Only ``os`` and ``stat`` (built into the interpreter): this is on the warm path (``errno`` is
imported only when an open fails).
"""

import os
import stat

_SAFE_FLAGS = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class NotRegular(OSError):
    """The path exists but is a FIFO, socket, device or directory, or another user's file."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.strerror = reason


def open_fd(
    path: str,
    flags: int = os.O_RDONLY,
    *,
    mine: bool = False,
    follow: bool = False,
    mode: int = 0o600,
) -> int:
    """A descriptor of the regular file at ``path``, opened without blocking.

    ``mine``: it must also belong to this process's effective user (files in ecrpy's own cache
    directory). ``follow``: a symlink is followed (else refused with ``ELOOP``). Raises
    :class:`NotRegular` for anything else (also for a socket, or a FIFO opened for writing that
    nobody reads: ``ENXIO``), ``OSError`` as ``os.open`` does (``FileNotFoundError`` for a
    missing file, ``ELOOP`` for a symlink).
    """
    try:
        fd = os.open(path, flags | _SAFE_FLAGS | (0 if follow else _O_NOFOLLOW), mode)
    except FileNotFoundError:  # the usual miss (no ~/.aws/credentials ...): nothing to import
        raise
    except OSError as exc:
        import errno

        if exc.errno == errno.ENXIO:  # a socket, or a FIFO opened for writing that nobody reads
            raise NotRegular(path, "not a regular file") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(path, "not a regular file")
        if mine and info.st_uid != os.geteuid():
            raise NotRegular(path, "belongs to another user")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read(
    path: str, limit: "int | None" = None, *, mine: bool = False, follow: bool = False
) -> "bytes | None":
    """The bytes of the regular file at ``path`` (see :func:`open_fd`); None when there is none.

    Raises :class:`NotRegular` for a file that is there but must not be read, ``OSError`` when
    it cannot be (permissions). With a ``limit``, at most ``limit + 1`` bytes, so that the
    caller can tell a file that is too large.
    """
    try:
        fd = open_fd(path, mine=mine, follow=follow)
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
