"""ecrpy's own store for the logins of registries that are not ECR, when no fallback is named.

One JSON file, ``$XDG_DATA_HOME/ecrpy/logins.json`` (else ``~/.local/share/ecrpy/logins.json``),
owner-only (0600 in a 0700 directory), as ``docker login`` without a store keeps them in
``config.json``: the same protection, in a file only ecrpy writes. Not a cache: losing it loses
logins, so

- every change is read-modify-write under an ``flock`` (concurrent ``store``s lose nothing),
  written to a temporary file and renamed over the old one (a reader never sees half a file);
- a file that cannot be read as a store (corrupt, someone else's, readable by others, a
  symlink) is an error that names it, and is left exactly as it is: never emptied, never fixed
  behind the user's back;
- nothing from it is ever logged.

Keys are the server URLs exactly as the client sent them, as the Docker-maintained helpers
(pass, secretservice) keep them: Docker asks for a registry with the same string it stored.
"""

from __future__ import annotations

import os
import stat

from . import jsonlite

TYPE_CHECKING = False  # typing costs ~13 ms of start-up (it imports re): types only for mypy
if TYPE_CHECKING:
    from collections.abc import Mapping

    from .protocol import Credentials

FORMAT_VERSION = 1
FILE_NAME = "logins.json"
MAX_BYTES = 4 * 1024 * 1024
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class StoreError(Exception):
    """The store cannot be used as it is; the message names the file and the fix."""


def default_path(environ: Mapping[str, str]) -> str | None:
    """Where the store lives; None without a home to put it in."""
    xdg = environ.get("XDG_DATA_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "ecrpy", FILE_NAME)
    home = environ.get("HOME") or os.path.expanduser("~")
    if not home or home == "~" or not os.path.isabs(home):
        return None
    return os.path.join(home, ".local", "share", "ecrpy", FILE_NAME)


def decode(text: str, path: str) -> dict[str, tuple[str, str]]:
    """The logins a store file holds. Pure; raises StoreError for anything else."""
    try:
        data = jsonlite.loads(text)
    except ValueError:
        data = None
    logins = data.get("logins") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("version") != FORMAT_VERSION
        or not isinstance(logins, dict)
    ):
        raise StoreError(
            f"ecrpy's login store {path} is corrupt or from another version: ecrpy leaves it "
            "as it is; move it away (its logins are lost) and log in again"
        )
    result: dict[str, tuple[str, str]] = {}
    for url, login in logins.items():
        username = login.get("Username") if isinstance(login, dict) else None
        secret = login.get("Secret") if isinstance(login, dict) else None
        if not (isinstance(username, str) and isinstance(secret, str)):
            raise StoreError(
                f"ecrpy's login store {path} is corrupt or from another version: ecrpy leaves "
                "it as it is; move it away (its logins are lost) and log in again"
            )
        result[url] = (username, secret)
    return result


def encode(logins: Mapping[str, tuple[str, str]]) -> str:
    """The file's text for these logins (keys sorted: the same logins, the same bytes)."""
    entries = {
        url: {"Username": logins[url][0], "Secret": logins[url][1]} for url in sorted(logins)
    }
    return f'{{"version": {FORMAT_VERSION}, "logins": {jsonlite.dumps_nested(entries)}}}\n'


class LoginStore:
    """The store file at ``path``; every change under the lock, within ``timeout`` seconds."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.directory = os.path.dirname(path)
        self.timeout = timeout

    # -- reading -------------------------------------------------------------------------------

    def read(self) -> dict[str, tuple[str, str]]:
        """Every login; {} when there is no store yet."""
        try:
            fd = os.open(self.path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StoreError(
                f"cannot read ecrpy's login store {self.path}: {exc.strerror}"
            ) from None
        try:
            info = os.fstat(fd)
            self._check(info)
            raw = os.read(fd, MAX_BYTES + 1)
        finally:
            os.close(fd)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        return decode(text, self.path)

    def _check(self, info: os.stat_result) -> None:
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            raise StoreError(f"ecrpy's login store {self.path} is not a regular file: move it away")
        if info.st_uid != os.geteuid():
            raise StoreError(
                f"ecrpy's login store {self.path} belongs to another user: ecrpy will not use it"
            )
        if info.st_mode & 0o077:
            raise StoreError(
                f"ecrpy's login store {self.path} can be read by other users: "
                f"chmod 600 {self.path} (and change the passwords it holds)"
            )

    def get(self, server_url: str) -> tuple[str, str] | None:
        return self.read().get(server_url)

    # -- changing ------------------------------------------------------------------------------

    def store(self, creds: Credentials) -> None:
        with self._locked():
            logins = self.read()
            logins[creds.server_url] = (creds.username, creds.secret)
            self._write(logins)

    def erase(self, server_url: str) -> bool:
        """Drop one login; False when there was none."""
        with self._locked():
            logins = self.read()
            if logins.pop(server_url, None) is None:
                return False
            self._write(logins)
            return True

    def _locked(self) -> _Lock:
        self._ensure_dir()
        return _Lock(os.path.join(self.directory, FILE_NAME + ".lock"), self.timeout)

    def _ensure_dir(self) -> None:
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            info = os.lstat(self.directory)
        except OSError as exc:
            raise StoreError(f"cannot create {self.directory}: {exc.strerror}") from None
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            raise StoreError(
                f"{self.directory} is not a private directory of this user: ecrpy will not "
                "keep logins there (chmod 700 it, or move it away)"
            )

    def _write(self, logins: Mapping[str, tuple[str, str]]) -> None:
        temp = os.path.join(self.directory, f".{FILE_NAME}.{os.getpid()}.{os.urandom(4).hex()}")
        data = encode(logins).encode("utf-8")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
            fd = os.open(temp, flags, 0o600)
            try:
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, self.path)
        except OSError as exc:
            try:  # noqa: SIM105 - contextlib costs ~2 ms of import on every request
                os.unlink(temp)
            except OSError:
                pass
            raise StoreError(
                f"cannot write ecrpy's login store {self.path}: {exc.strerror}"
            ) from None


class _Lock:
    """An exclusive ``flock`` on the store's lock file, waited for at most ``timeout`` seconds.

    Unlike the token cache's lock, this one never goes on unlocked: a change without it could
    lose another process's login. Giving up is an error the user sees.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self.fd: int | None = None

    def __enter__(self) -> _Lock:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StoreError(
                f"cannot lock ecrpy's login store {self.path}: {exc.strerror}"
            ) from None
        from .cache import flock_within

        try:
            held = flock_within(self.fd, self.timeout)
        except OSError as exc:
            self.__exit__()
            raise StoreError(
                f"cannot lock ecrpy's login store {self.path}: {exc.strerror}"
            ) from None
        if not held:
            self.__exit__()
            raise StoreError(
                f"ecrpy's login store is locked by another process ({self.path}) for "
                f"more than {self.timeout:g} s: try again"
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
