"""Logging that costs nothing when nothing is logged.

``import logging`` takes ~11 ms, as long as the interpreter takes to start. A warm ``get`` logs
its cache hit at INFO, below the default level (WARNING), so the stdlib logging machinery is
imported and configured only when a message passes the level set in ``ECRPY_LOG_LEVEL``.

Records go to a size-rotated file beside the token cache (``ecrpy.log``, 1 MiB x 3), created
``0600``. Callers pass arguments, never pre-formatted text, and never a token or a secret key.
"""

import os

# A warm get imports this module: types are for mypy only (typing imports re, ~13 ms), and
# annotations are quoted where Python would evaluate them, because the __future__ import
# that would defer them imports a module too (~0.25 ms of every get).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
_LEVELS = {"debug": DEBUG, "info": INFO, "warning": WARNING, "warn": WARNING, "error": ERROR}
LEVEL_ENV = "ECRPY_LOG_LEVEL"
FILE_NAME = "ecrpy.log"

_threshold: "int | None" = None
_directory: "str | None" = None
_logger: "logging.Logger | None" = None


def configure(directory: "str | None", level: "str | None" = None) -> None:
    """Where the log file goes and which level passes; cheap, imports nothing."""
    global _threshold, _directory, _logger  # noqa: PLW0603 - one logger per process
    _directory = directory
    _threshold = _LEVELS.get((level or "").strip().lower(), WARNING)
    _logger = None


def path() -> "str | None":
    return os.path.join(_directory, FILE_NAME) if _directory else None


def enabled(level: int) -> bool:
    threshold = _threshold
    if threshold is None:
        threshold = _LEVELS.get(os.environ.get(LEVEL_ENV, "").strip().lower(), WARNING)
    return level >= threshold


def _get_logger() -> "logging.Logger | None":
    global _logger  # noqa: PLW0603
    if _logger is not None:
        return _logger
    import logging
    import logging.handlers

    logger = logging.getLogger("ecrpy")
    logger.propagate = False
    logger.setLevel(DEBUG)
    file_path = path()
    handler: logging.Handler | None = None
    refused = None
    from . import safefile

    # Only in a real directory of ours, closed to others (created if need be).
    directory = os.path.dirname(file_path) if file_path is not None else None
    if file_path is not None and safefile.private_dir(str(directory), create=True) is None:
        try:
            handler = _file_handler(file_path)
        except safefile.NotRegular as exc:  # a FIFO planted there: never waited on
            refused = f"log file {file_path} refused ({exc.strerror}): logging to stderr"
        except OSError:
            return None  # no writable place for a log: say nothing rather than fail the call
        else:
            handler.setFormatter(
                logging.Formatter("%(asctime)s pid=%(process)d %(levelname)s %(message)s")
            )
    if handler is None:
        # No trustworthy place for a log file (the cache directory is a symlink, someone else's,
        # or writable by others; the log file is not a regular file): stderr, which Docker
        # captures and does not show.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("ecrpy: %(levelname)s %(message)s"))
    logger.handlers[:] = [handler]
    _logger = logger
    if refused is not None:
        logger.warning("%s", refused)
    return logger


def _file_handler(file_path: str) -> "logging.Handler":
    """A rotating file whose own failures (a full disk) become one line on stderr.

    The stdlib's default prints "--- Logging error ---" and a traceback to stderr, which the
    docker CLI shows its user. Defined here so that logging is imported only when needed.
    """
    import contextlib
    import io
    import logging.handlers
    import sys

    from . import safefile

    class Handler(logging.handlers.RotatingFileHandler):
        def _open(self) -> "io.TextIOWrapper":
            """Created 0600; a FIFO or symlink planted there is refused, never waited on."""
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
            fd = safefile.open_fd(self.baseFilename, flags, mine=True)
            return open(fd, "a", encoding="utf-8")

        def handleError(self, record: "logging.LogRecord") -> None:
            with contextlib.suppress(Exception):  # nowhere left to report to
                sys.stderr.write(f"ecrpy: {record.levelname} {record.getMessage()}\n")

    return Handler(file_path, maxBytes=1024 * 1024, backupCount=3, encoding="utf-8")


def close() -> None:
    """Flush and close the log file (if anything was logged), for a process ending by os._exit."""
    global _logger
    logger, _logger = _logger, None
    if logger is None:
        return
    import contextlib

    for handler in logger.handlers:
        # Each record was flushed when emitted (a failure went to handleError); a close that
        # fails (a full disk) has nothing left to write, and nowhere to say so.
        with contextlib.suppress(OSError):
            handler.close()
    logger.handlers[:] = []


def _emit(level: int, message: str, args: tuple[object, ...]) -> None:
    if not enabled(level):
        return
    logger = _get_logger()
    if logger is not None:
        logger.log(level, message, *args)


def hit(host: str, identity: str) -> None:
    """The line of a cache hit, the same from every path that serves one."""
    _emit(INFO, "hit %s identity=%s", (host, identity))


def debug(message: str, *args: object) -> None:
    _emit(DEBUG, message, args)


def info(message: str, *args: object) -> None:
    _emit(INFO, message, args)


def warning(message: str, *args: object) -> None:
    _emit(WARNING, message, args)


def error(message: str, *args: object) -> None:
    _emit(ERROR, message, args)
