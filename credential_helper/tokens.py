"""The token policy: when a cached token is good, who fetches a new one, what to do when AWS fails.

- Fresh while more than half of the token's lifetime remains (ECR tokens live 12 hours, so a
  token is refreshed after 6): a warm ``get`` is a file read.
- Past that, one process per (registry, identity) fetches under a lock; the others wait for the
  lock and then read what it stored (single flight), so 32 concurrent cold pulls cost one call.
- If the fetch fails and the cached token still has more than five minutes, it is served and a
  warning logged (stale-if-error). An expired token is never served.

The decisions are pure functions of an entry and the time; :class:`Resolver` does the I/O.
"""

from __future__ import annotations

import time

from . import log
from .cache import Entry, TokenCache

TYPE_CHECKING = False  # typing costs ~13 ms of start-up (it imports re): types only for mypy
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Callable

    from .ecr import Token
    from .errors import TokenUnavailable
    from .registry import Registry

    Fetch = Callable[[Registry], Token]

TIMEOUT_ENV = "ECRPY_TIMEOUT"
DEFAULT_TIMEOUT = 20.0  # seconds a fetch may take in all (see deadline.py)


def timeout_from(value: str | None) -> float:
    """``ECRPY_TIMEOUT`` as seconds: a positive number up to an hour, else the default."""
    try:
        seconds = float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
    return seconds if 0 < seconds <= 3600 else DEFAULT_TIMEOUT


FRESH_FRACTION = 0.5  # refresh once half the lifetime is gone
STALE_MARGIN = 300.0  # a failed refresh may still serve a token with more than this left
LOCK_TIMEOUT = 45.0  # without a deadline: longer than botocore's timeouts and retries take


QUIET_FOR = 3600.0  # an expected failure (ECR Public denied) is logged once an hour


def anonymous(registry: Registry, exc: TokenUnavailable) -> bool:
    """ECR Public with no credentials, or with credentials that may not get its token
    (AccessDenied): the pull goes on anonymously (not-found), as public images allow."""
    from .errors import DENIED, NO_CREDENTIALS

    return registry.public and exc.kind in (NO_CREDENTIALS, DENIED)


def is_fresh(entry: Entry, now: float) -> bool:
    """More than half of the token's lifetime is still ahead."""
    lifetime = entry.expires_at - entry.fetched_at
    return lifetime > 0 and entry.expires_at - now > lifetime * FRESH_FRACTION


def usable_when_stale(entry: Entry, now: float) -> bool:
    """Good enough to serve when a refresh has failed: unexpired, with a margin."""
    return entry.expires_at - now > STALE_MARGIN


def listing(entries: Iterable[Entry], identity: str, now: float) -> dict[str, str]:
    """``list``'s answer: registries with an unexpired token for this identity, as Docker keys."""
    return {
        f"https://{entry.host}": entry.username
        for entry in entries
        if entry.identity == identity and entry.expires_at > now
    }


def configured_fetch(environ: Mapping[str, str]) -> Fetch:
    """Fetch with the profile and role that ecrpy's settings name for each registry."""

    def fetch(registry: Registry) -> Token:
        from . import config, ecr
        from .errors import CONFIG, TokenUnavailable

        try:
            settings = config.settings_for(config.load(environ), registry)
        except config.ConfigError as exc:
            raise TokenUnavailable(str(exc), CONFIG) from None
        log.debug("settings for %s: %s", registry.host, settings.source or "defaults")
        return ecr.fetch(registry, settings)

    return fetch


class Resolver:
    """Serves tokens for one identity from the cache, fetching under a lock when it must."""

    def __init__(
        self,
        cache: TokenCache | None,
        identity: str,
        fetch: Fetch,
        clock: Callable[[], float] = time.time,
        deadline: float | None = None,
        min_validity: float = 0.0,
    ) -> None:
        self.cache = cache
        self.identity = identity
        self.fetch = fetch
        self.clock = clock
        self.deadline = deadline  # seconds a fetch may take in all; None: botocore's own bounds
        self.min_validity = min_validity  # a fresh token must also have this long left (export)

    def _fresh(self, entry: Entry) -> bool:
        now = self.clock()
        return is_fresh(entry, now) and entry.expires_at - now >= self.min_validity

    def get(self, registry: Registry) -> Entry:
        """A token for ``registry``; raises ``errors.TokenUnavailable`` when none can be had."""
        from .errors import TokenUnavailable

        cache, host = self.cache, registry.host
        cached = cache.load(host, self.identity) if cache else None
        if cached is not None and self._fresh(cached):
            log.info("hit %s identity=%s", host, self.identity)
            return cached
        try:
            if cache is None:
                return self._fetch(registry)
            return self._fetch_once(cache, registry)
        except TokenUnavailable as exc:
            return self._fallback(registry, cached, exc)

    def _fetch_once(self, cache: TokenCache, registry: Registry) -> Entry:
        """Single flight: one process fetches, the ones that waited for it share its outcome."""
        from .errors import TokenUnavailable

        host, waited_since = registry.host, self.clock()
        # The holder gives up within its deadline; wait that long (and a little) for it.
        wait = LOCK_TIMEOUT if self.deadline is None else self.deadline + 5
        with cache.lock(host, self.identity, wait):
            latest = cache.load(host, self.identity)  # another process may have just fetched
            if latest is not None and self._fresh(latest):
                log.info("hit after wait %s identity=%s", host, self.identity)
                return latest
            failure = cache.failure(host, self.identity, since=waited_since)
            if failure is not None:  # it failed while we waited: do not queue up to fail again
                raise TokenUnavailable(*failure)
            try:
                entry = self._fetch(registry)
            except TokenUnavailable as exc:
                cache.save_failure(host, self.identity, str(exc), exc.kind, self.clock())
                raise
            if cache.save(entry):
                cache.prune(self.clock())
            return entry

    def _fetch(self, registry: Registry) -> Entry:
        log.info("refresh %s identity=%s", registry.host, self.identity)
        if self.deadline is None:
            token = self.fetch(registry)
        else:
            from .deadline import Deadline

            with Deadline(self.deadline, f"getting a token for {registry.host}"):
                token = self.fetch(registry)
        return Entry(
            registry.host,
            self.identity,
            token.username,
            token.password,
            token.expires_at,
            self.clock(),
        )

    def _fallback(self, registry: Registry, cached: Entry | None, exc: TokenUnavailable) -> Entry:
        """Stale-if-error: a cached token that still has a margin beats a failed pull."""
        if cached is not None and usable_when_stale(cached, self.clock()):
            log.warning(
                "fallback %s identity=%s: serving the cached token (%d s left) after: %s",
                registry.host,
                self.identity,
                int(cached.expires_at - self.clock()),
                exc,
            )
            return cached
        from .errors import NO_CREDENTIALS

        if not anonymous(registry, exc):
            log.error("error %s identity=%s: %s", registry.host, self.identity, exc)
        elif exc.kind == NO_CREDENTIALS:  # the normal anonymous pull, not an error
            log.info("error %s identity=%s: %s", registry.host, self.identity, exc)
        elif self.cache is None or self.cache.note_once(
            registry.host, self.identity, QUIET_FOR, self.clock()
        ):  # denied: said once an hour, not on every pull of a public image
            log.info(
                "anonymous %s identity=%s: pulling without a token (logged once an hour) after: %s",
                registry.host,
                self.identity,
                exc,
            )
        raise exc
