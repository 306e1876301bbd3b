"""The token policy: when a cached token is good, who fetches a new one, what to do when AWS fails.

- Fresh while more than half of the token's lifetime remains (ECR tokens live 12 hours, so a
  token is refreshed after 6): a warm ``get`` is a file read.
- Past that, one process per (registry, identity) fetches under a lock; the others wait for the
  lock and then read what it stored (single flight), so 32 concurrent cold pulls cost one call.
- If the fetch fails and the cached token still has more than five minutes, it is served and a
  warning logged (stale-if-error). An expired token is never served.

The decisions are pure functions of an entry and the time; :class:`Resolver` does the I/O,
with the fetch it is given (:mod:`access` builds it with ecrpy's settings and the AWS layer).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Callable

from . import log
from .cache import Entry, TokenCache, fresh_entry, is_fresh
from .deadline import Deadline
from .errors import BAD_RESPONSE, DENIED, NO_CREDENTIALS, TokenUnavailable
from .registry import Registry, token_host

if TYPE_CHECKING:  # the AWS layer is the caller's to bring (access.py): list never loads it
    from .ecr import Token

__all__ = ["Resolver", "fresh_entry", "is_fresh"]  # the freshness rule lives with the cache

Fetch = Callable[[Registry], "Token"]
FetchMany = Callable[[Registry, Sequence[Registry]], "dict[str, Token]"]

STALE_MARGIN = 300.0  # a failed refresh may still serve a token with more than this left
LOCK_TIMEOUT = 45.0  # without a deadline: longer than botocore's timeouts and retries take


QUIET_FOR = 3600.0  # an expected failure (ECR Public denied) is logged once an hour


def anonymous(registry: Registry, exc: TokenUnavailable) -> bool:
    """ECR Public with no credentials, or with credentials that may not get its token
    (AccessDenied): the pull goes on anonymously (not-found), as public images allow."""
    return registry.public and exc.kind in (NO_CREDENTIALS, DENIED)


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


class Resolver:
    """Serves tokens for one identity from the cache, fetching under a lock when it must.

    ``fetch_many`` and ``companions`` (a function naming the other registries worth fetching
    in the same request; only the process that fetches calls it, not those that wait) are
    optional: without them every fetch is for the one registry asked for.
    """

    def __init__(
        self,
        cache: TokenCache | None,
        identity: str,
        fetch: Fetch,
        clock: Callable[[], float] = time.time,
        deadline: float | None = None,
        min_validity: float = 0.0,
        fetch_many: FetchMany | None = None,
        companions: Callable[[], Sequence[Registry]] | None = None,
    ) -> None:
        self.cache = cache
        self.identity = identity
        self.fetch = fetch
        self.clock = clock
        self.deadline = deadline  # seconds a fetch may take in all; None: botocore's own bounds
        self.min_validity = min_validity  # a fresh token must also have this long left (export)
        self.fetch_many = fetch_many
        self.companions = companions  # called only by the process that fetches

    def _fresh(self, entry: Entry) -> bool:
        now = self.clock()
        return is_fresh(entry, now) and entry.expires_at - now >= self.min_validity

    def get(self, registry: Registry) -> Entry:
        """A token for ``registry``; raises ``errors.TokenUnavailable`` when none can be had."""
        cache, key = self.cache, token_host(registry)
        cached = cache.load(key, self.identity) if cache else None
        if cached is not None and self._fresh(cached):
            log.hit(key, self.identity)
            return cached
        try:
            if cache is None:
                return self._fetch(registry, key, ())[0]
            return self._fetch_once(cache, registry, key)
        except TokenUnavailable as exc:
            return self._fallback(registry, cached, exc)

    def _fetch_once(self, cache: TokenCache, registry: Registry, key: str) -> Entry:
        """Single flight: one process fetches, the ones that waited for it share its outcome."""
        waited_since = self.clock()
        # The holder gives up within its deadline; wait that long (and a little) for it.
        wait = LOCK_TIMEOUT if self.deadline is None else self.deadline + 5
        with cache.lock(key, self.identity, wait):
            latest = cache.load(key, self.identity)  # another process may have just fetched
            if latest is not None and self._fresh(latest):
                log.info("hit after wait %s identity=%s", key, self.identity)
                return latest
            failure = cache.failure(key, self.identity, since=waited_since)
            if failure is not None:  # it failed while we waited: do not queue up to fail again
                raise TokenUnavailable(*failure)
            try:
                entries = self._fetch(registry, key, self._due(cache, key))
            except TokenUnavailable as exc:
                cache.save_failure(key, self.identity, str(exc), exc.kind, self.clock())
                raise
            stored = [cache.save(entry) for entry in entries]
            if stored[0]:
                cache.prune(self.clock())
            return entries[0]

    def _due(self, cache: TokenCache, key: str) -> list[Registry]:
        """The companions whose cached tokens are not fresh: worth a place in the request."""
        due: dict[str, Registry] = {}
        for other in self.companions() if self.companions else ():
            other_key = token_host(other)
            if (
                other_key != key
                and other_key not in due
                and fresh_entry(cache, other_key, self.identity, self.clock()) is None
            ):
                due[other_key] = other
        return list(due.values())

    def _fetch(self, registry: Registry, key: str, due: Sequence[Registry]) -> list[Entry]:
        """Fetch under the deadline; the entry of ``registry`` first, then its companions'."""
        log.info("refresh %s identity=%s", key, self.identity)
        if due:
            log.info("fan-out %s: also %s", key, " ".join(other.host for other in due))
        if self.deadline is None:
            tokens = self._call(registry, key, due)
        else:
            with Deadline(self.deadline, f"getting a token for {registry.host}"):
                tokens = self._call(registry, key, due)
        if key not in tokens:
            raise TokenUnavailable(f"ECR returned no token for {registry.host}", BAD_RESPONSE)
        now = self.clock()
        hosts = [key, *(host for host in tokens if host != key)]
        return [
            Entry(
                host,
                self.identity,
                tokens[host].username,
                tokens[host].password,
                tokens[host].token_expires_at,
                now,
                tokens[host].session_expires_at,
            )
            for host in hosts
        ]

    def _call(self, registry: Registry, key: str, due: Sequence[Registry]) -> dict[str, Token]:
        if due and self.fetch_many is not None:
            return self.fetch_many(registry, due)
        return {key: self.fetch(registry)}

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
