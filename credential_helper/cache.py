"""The on-disk token store: one owner-only directory, one small JSON file per (registry, identity).

One file per entry rather than one shared file: a warm ``get`` opens exactly the one file it
needs, writers never rewrite each other's entries, and an atomic rename keeps every file
valid JSON at every moment. The directory must be a real directory (not a symlink) owned by
this user and writable by nobody else; files are opened with ``O_NOFOLLOW``, created ``0600``,
and anything that does not check out is ignored (and logged), never trusted and never fatal.

Policy (when an entry is fresh, who fetches) lives in :mod:`tokens`; this module only stores.
"""

import os

from . import jsonlite, log, paths, safefile

# A warm get imports this module: types are for mypy only (typing imports re, ~13 ms), and
# annotations are quoted where Python would evaluate them, because the __future__ import
# that would defer them imports a module too (~0.25 ms of every get).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

FORMAT_VERSION = 1
_SUFFIX = ".json"
_LOCK_SUFFIX = ".lock"
_FAIL_SUFFIX = ".fail"
_NOTE_SUFFIX = ".noted"
_MEMO_SUFFIX = ".memo"
_MAX_ENTRY_BYTES = 64 * 1024  # an ECR token is ~2-3 KiB; anything far larger is not ours


class Entry:
    """A cached token of one registry for one identity. Times are seconds since the epoch.

    ``expires_at`` is the token's usable life: the earlier of ECR's ``expiresAt``
    (``token_expires_at``) and the end of the AWS session that minted it (``session_expires_at``,
    None for long-term keys and for entries written before ecrpy recorded it). ECR refuses a
    token once its session has ended, whatever ``expiresAt`` says, so every rule (freshness,
    stale-if-error, ``list``, pruning, ``export``, the kubelet) works on ``expires_at``.
    """

    __slots__ = (
        "expires_at",
        "fetched_at",
        "host",
        "identity",
        "password",
        "session_expires_at",
        "token_expires_at",
        "username",
    )

    def __init__(
        self,
        host: str,
        identity: str,
        username: str,
        password: str,
        expires_at: float,
        fetched_at: float,
        session_expires_at: "float | None" = None,
    ) -> None:
        self.host = host
        self.identity = identity
        self.username = username
        self.password = password
        self.token_expires_at = expires_at
        self.session_expires_at = session_expires_at
        self.expires_at = usable_until(expires_at, session_expires_at)
        self.fetched_at = fetched_at

    def __repr__(self) -> str:  # never the password
        return (
            f"Entry(host={self.host!r}, identity={self.identity!r}, "
            f"expires_at={self.expires_at!r}, fetched_at={self.fetched_at!r})"
        )

    def encode(self) -> str:
        data: dict[str, str | int | float | bool | None] = {
            "version": FORMAT_VERSION,
            "host": self.host,
            "identity": self.identity,
            "username": self.username,
            "password": self.password,
            "expires_at": self.token_expires_at,
            "fetched_at": self.fetched_at,
        }
        if self.session_expires_at is not None:
            data["session_expires_at"] = self.session_expires_at
        return jsonlite.dumps(data)


def usable_until(token_expires_at: float, session_expires_at: "float | None") -> float:
    """When a token stops working: its own expiry, or its session's end if that comes first."""
    if session_expires_at is None:
        return token_expires_at
    return min(token_expires_at, session_expires_at)


FRESH_FRACTION = 0.5  # refresh once half the lifetime is gone


def is_fresh(entry: "Entry", now: float) -> bool:
    """More than half of the token's lifetime is still ahead (the policy is in :mod:`tokens`;
    this one rule is here because a warm ``get`` needs it and nothing else of the policy)."""
    lifetime = entry.expires_at - entry.fetched_at
    return lifetime > 0 and entry.expires_at - now > lifetime * FRESH_FRACTION


def fresh_entry(cache: "TokenCache | None", key: str, identity: str, now: float) -> "Entry | None":
    """The cached entry of ``key`` for ``identity`` if it is fresh: the whole warm path."""
    cached = cache.load(key, identity) if cache else None
    return cached if cached is not None and is_fresh(cached, now) else None


def decode(text: str) -> "Entry | None":
    """An entry from its file's text, or None for anything that is not a valid current entry."""
    try:
        data = jsonlite.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        return None
    strings = [data.get(key) for key in ("host", "identity", "username", "password")]
    times = [data.get(key) for key in ("expires_at", "fetched_at")]
    if not all(isinstance(value, str) and value for value in strings):
        return None
    if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in times):
        return None
    host, identity, username, password = (str(value) for value in strings)
    expires_at, fetched_at = (float(value) for value in times)  # type: ignore[arg-type]
    session = data.get("session_expires_at")  # absent in entries of earlier versions: no bound
    if session is not None and (isinstance(session, bool) or not isinstance(session, (int, float))):
        return None
    ended = None if session is None else float(session)
    return Entry(host, identity, username, password, expires_at, fetched_at, ended)


def disabled(environ: "Mapping[str, str]") -> bool:
    """``AWS_ECR_DISABLE_CACHE``, set to anything non-empty, turns the cache off (as in Go's)."""
    return bool(environ.get("AWS_ECR_DISABLE_CACHE"))


def from_environ(environ: "Mapping[str, str]") -> "TokenCache | None":
    """The cache this environment uses, or None when it is off or has nowhere to live."""
    directory = paths.cache_dir(environ)
    if directory is None or disabled(environ):
        return None
    return TokenCache(directory)


class TokenCache:
    """The directory of entries. Every method fails soft: a broken cache means a cache miss."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    # -- paths -------------------------------------------------------------------------------

    def _name(self, host: str, identity: str) -> str:
        return os.path.join(self.directory, f"{host}.{identity}{_SUFFIX}")

    def _trusted_dir(self, create: bool = False) -> bool:
        """The directory exists, is no symlink, is ours and nobody else can write to it.

        Anything else is logged and means no cache (never fatal)."""
        fault = safefile.private_dir(self.directory, create=create)
        if fault is None:
            return True
        if fault.kind != safefile.MISSING:
            log.warning("cache disabled: %s", fault.reason)
        return False

    def ensure_dir(self) -> bool:
        """Create the directory (0700) if it is missing; True when it can be trusted."""
        return self._trusted_dir(create=True)

    # -- reading (the warm path) ---------------------------------------------------------------

    def load(self, host: str, identity: str) -> "Entry | None":
        """The entry for (host, identity), or None when absent, unreadable, foreign or corrupt."""
        if not self._trusted_dir():
            return None
        entry = self._read(self._name(host, identity))
        if entry is not None and (entry.host != host or entry.identity != identity):
            log.warning("cache entry for %s does not match its file name: ignored", host)
            return None
        return entry

    def _read(self, path: str) -> "Entry | None":
        text = self._read_text(path)
        if text is None:
            return None
        entry = decode(text)
        if entry is None:
            log.warning("cache file %s is corrupt or from another version: treated as empty", path)
        return entry

    def _read_text(self, path: str) -> "str | None":
        """A file's text, only if it is a regular file of ours that nobody else can read."""
        try:  # a FIFO, device, symlink or a file others can read is never used
            raw = safefile.read(path, _MAX_ENTRY_BYTES, private=True)
        except safefile.NotRegular:
            log.warning("cache file %s is not a private file of this user: ignored", path)
            return None
        except OSError:
            return None  # a symlink we refuse to follow, or unreadable
        if raw is None:
            return None  # missing: a miss
        if len(raw) > _MAX_ENTRY_BYTES:
            log.warning("cache file %s is not a private file of this user: ignored", path)
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return ""

    def entries(self) -> "Iterator[Entry]":
        """Every valid entry in the directory (for ``list`` and pruning)."""
        if not self._trusted_dir():
            return
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        for name in sorted(names):
            if name.endswith(_SUFFIX) and not name.startswith("."):
                entry = self._read(os.path.join(self.directory, name))
                if entry is not None:
                    yield entry

    # -- writing (the cold path) -------------------------------------------------------------

    def save(self, entry: "Entry") -> bool:
        """Atomically write an entry (and forget an earlier failure). True when it was stored."""
        stored = self._write(self._name(entry.host, entry.identity), entry.encode(), entry.host)
        if stored:
            _unlink(self._failure_name(entry.host, entry.identity))
        return stored

    def _write(self, final: str, text: str, host: str) -> bool:
        """Write ``text`` to a private temp file, then rename it over ``final``."""
        if not self.ensure_dir():
            return False
        try:
            safefile.write_atomic(final, text.encode("utf-8"), 0o600)
        except OSError as exc:
            log.warning("cannot write cache file for %s: %s", host, exc.strerror)
            return False
        return True

    # -- failures: shared with the processes that waited on the lock --------------------------

    def _failure_name(self, host: str, identity: str) -> str:
        return self._name(host, identity)[: -len(_SUFFIX)] + _FAIL_SUFFIX

    def save_failure(self, host: str, identity: str, message: str, kind: str, now: float) -> None:
        """Record why the last fetch failed (a secret-free message), for the waiters."""
        text = jsonlite.dumps(
            {"version": FORMAT_VERSION, "message": message, "kind": kind, "at": now}
        )
        self._write(self._failure_name(host, identity), text, host)

    def failure(self, host: str, identity: str, since: float) -> "tuple[str, str] | None":
        """(message, kind) of a fetch that failed at or after ``since``, if any."""
        text = self._read_text(self._failure_name(host, identity))
        if not text:
            return None
        try:
            data = jsonlite.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        message, kind, at = data.get("message"), data.get("kind"), data.get("at")
        if not (isinstance(message, str) and isinstance(kind, str) and isinstance(at, float)):
            return None
        return (message, kind) if at >= since else None

    def note_once(self, host: str, identity: str, every: float, now: float) -> bool:
        """True at most once per ``every`` seconds for (host, identity), across processes: for a
        message that would otherwise repeat on every pull. True too when nothing can be kept."""
        path = self._name(host, identity)[: -len(_SUFFIX)] + _NOTE_SUFFIX
        try:
            if now - os.lstat(path).st_mtime < every:
                return False
        except OSError:
            pass
        self._write(path, "", host)
        return True

    def remember(self, name: str, identity: str, text: str) -> None:
        """Keep a small note that is no secret for an identity (``list``'s default registry)."""
        self._write(self._name(name, identity)[: -len(_SUFFIX)] + _MEMO_SUFFIX, text, name)

    def recall(self, name: str, identity: str) -> "str | None":
        """The note :meth:`remember` kept, or None."""
        return self._read_text(self._name(name, identity)[: -len(_SUFFIX)] + _MEMO_SUFFIX) or None

    def erase_host(self, host: str) -> int:
        """Drop the entries of ``host`` for every identity; the number dropped."""
        if not self._trusted_dir():
            return 0
        dropped = 0
        for entry in list(self.entries()):
            if entry.host == host and _unlink(self._name(entry.host, entry.identity)):
                dropped += 1
        return dropped

    def prune(self, now: float) -> int:
        """Drop expired entries, and lock files left by entries that are gone."""
        dropped = 0
        for entry in list(self.entries()):
            if entry.expires_at <= now and _unlink(self._name(entry.host, entry.identity)):
                dropped += 1
        try:
            names = set(os.listdir(self.directory))
        except OSError:
            return dropped
        for name in names:
            orphan_lock = (
                name.endswith(_LOCK_SUFFIX) and name[: -len(_LOCK_SUFFIX)] + _SUFFIX not in names
            )
            if orphan_lock or name.endswith((_FAIL_SUFFIX, _NOTE_SUFFIX)):
                path = os.path.join(self.directory, name)
                try:
                    if now - os.lstat(path).st_mtime > 3600:
                        _unlink(path)
                except OSError:
                    pass
        return dropped

    def lock(self, host: str, identity: str, timeout: float) -> "safefile.Lock":
        """An exclusive lock for one (host, identity), so that only one process fetches (none
        when the directory cannot be trusted: the cache is not used either).

        Creates the directory first: on a cold cache every racing process needs the lock file.
        A lock that cannot be had within ``timeout`` is logged, and the caller goes on unlocked:
        a second fetch is much better than a hung ``docker pull``.
        """
        path = self._name(host, identity)[: -len(_SUFFIX)] + _LOCK_SUFFIX
        return safefile.Lock(path if self.ensure_dir() else None, timeout, _go_on_unlocked)


def _go_on_unlocked(lock: "safefile.Lock") -> None:
    log.warning("%s; going on unlocked", lock.problem)


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
    except OSError:
        return False
    return True
