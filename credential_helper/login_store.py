"""ecrpy's own store for the logins of registries that are not ECR, when no fallback is named.

One JSON file, ``logins.json`` in ecrpy's data directory (:mod:`paths`), owner-only (0600 in
a 0700 directory), as ``docker login`` without a store keeps them in ``config.json``: the same
protection, in a file only ecrpy writes. Not a cache: losing it loses logins, so

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

from . import jsonlite, safefile

TYPE_CHECKING = False  # typing costs ~13 ms of start-up (it imports re): types only for mypy
if TYPE_CHECKING:
    from collections.abc import Mapping

    from .protocol import Credentials

FORMAT_VERSION = 1
MAX_BYTES = 4 * 1024 * 1024


class StoreError(Exception):
    """The store cannot be used as it is; the message names the file and the fix."""


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
        try:  # this user's regular file, not a link, closed to others (safefile)
            raw = safefile.read(self.path, MAX_BYTES, private=True)
        except safefile.NotRegular as exc:
            raise StoreError(self._refusal(str(exc.strerror))) from None
        except OSError as exc:
            raise StoreError(
                f"cannot read ecrpy's login store {self.path}: {exc.strerror}"
            ) from None
        if raw is None:
            return {}
        if len(raw) > MAX_BYTES:
            raise StoreError(self._refusal(safefile.NOT_REGULAR))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        return decode(text, self.path)

    def _refusal(self, reason: str) -> str:
        """Why the file is not used, and the fix, for each of safefile's refusals."""
        if reason == safefile.FOREIGN:
            return f"ecrpy's login store {self.path} belongs to another user: ecrpy will not use it"
        if reason == safefile.READABLE:
            return (
                f"ecrpy's login store {self.path} can be read by other users: "
                f"chmod 600 {self.path} (and change the passwords it holds)"
            )
        return f"ecrpy's login store {self.path} is not a regular file: move it away"

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

    def _locked(self) -> safefile.Lock:
        fault = safefile.private_dir(self.directory, create=True)
        if fault is not None and fault.kind == safefile.FAILED:
            raise StoreError(fault.reason)
        if fault is not None:
            raise StoreError(
                f"{self.directory} is not a private directory of this user: ecrpy will not "
                "keep logins there (chmod 700 it, or move it away)"
            )
        lock = os.path.join(self.directory, os.path.basename(self.path) + ".lock")
        return safefile.Lock(lock, self.timeout, self._refuse_unlocked)

    def _refuse_unlocked(self, lock: safefile.Lock) -> None:
        """Unlike the token cache, the store never goes on unlocked: a change without the lock
        could lose another process's login. Giving up is an error the user sees."""
        if lock.busy:
            raise StoreError(
                f"ecrpy's login store is locked by another process ({lock.path}) for "
                f"more than {self.timeout:g} s: try again"
            )
        raise StoreError(f"cannot lock ecrpy's login store: {lock.problem}")

    def _write(self, logins: Mapping[str, tuple[str, str]]) -> None:
        try:
            safefile.write_atomic(self.path, encode(logins).encode("utf-8"), 0o600, fsync=True)
        except OSError as exc:
            raise StoreError(
                f"cannot write ecrpy's login store {self.path}: {exc.strerror}"
            ) from None
