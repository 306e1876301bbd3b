"""The token policy, with a fake fetch and a fake clock over a real cache directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from credential_helper import log, registry, tokens
from credential_helper.cache import Entry, TokenCache
from credential_helper.ecr import Token
from credential_helper.errors import NETWORK, TokenUnavailable

HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
REG = registry.parse(HOST)
T0 = 1_800_000_000.0
LIFE = 12 * 3600.0


def entry(fetched: float = T0, life: float = LIFE, identity: str = "id1") -> Entry:
    return Entry(HOST, identity, "AWS", "pw-old", fetched + life, fetched)


@pytest.mark.parametrize(
    ("elapsed", "fresh"),
    [(0, True), (LIFE * 0.49, True), (LIFE * 0.51, False), (LIFE, False), (LIFE + 1, False)],
)
def test_fresh_while_more_than_half_the_lifetime_remains(elapsed: float, fresh: bool) -> None:
    assert tokens.is_fresh(entry(), T0 + elapsed) is fresh


def test_an_entry_with_no_lifetime_is_never_fresh() -> None:
    assert not tokens.is_fresh(entry(life=0), T0)


@pytest.mark.parametrize(("left", "usable"), [(600, True), (301, True), (299, False), (-1, False)])
def test_stale_tokens_serve_only_with_five_minutes_left(left: float, usable: bool) -> None:
    assert tokens.usable_when_stale(entry(), T0 + LIFE - left) is usable


def test_listing_shows_this_identitys_unexpired_tokens_only() -> None:
    entries = [
        entry(identity="me"),
        entry(identity="other"),
        Entry("public.ecr.aws", "me", "AWS", "x", T0 - 1, T0 - LIFE),
    ]
    assert tokens.listing(entries, "me", T0) == {f"https://{HOST}": "AWS"}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Fetcher:
    def __init__(self, clock: Clock) -> None:
        self.calls = 0
        self.fail = False
        self.clock = clock

    def __call__(self, reg: registry.Registry) -> Token:
        self.calls += 1
        if self.fail:
            raise TokenUnavailable(f"could not reach the ECR API for {reg.host}", NETWORK)
        return Token("AWS", f"pw-{self.calls}", self.clock() + LIFE)


@pytest.fixture
def world(tmp_path: Path) -> tuple[TokenCache, Clock, Fetcher]:
    log.configure(str(tmp_path / "cache"), "debug")
    clock = Clock()
    return TokenCache(str(tmp_path / "cache")), clock, Fetcher(clock)


def test_miss_fetches_once_then_hits(world: tuple[TokenCache, Clock, Fetcher]) -> None:
    cache, clock, fetch = world
    resolver = tokens.Resolver(cache, "id1", fetch, clock)
    assert REG is not None
    assert resolver.get(REG).password == "pw-1"
    clock.now += 3600
    assert resolver.get(REG).password == "pw-1"
    assert fetch.calls == 1


def test_refreshes_after_half_the_lifetime(world: tuple[TokenCache, Clock, Fetcher]) -> None:
    cache, clock, fetch = world
    resolver = tokens.Resolver(cache, "id1", fetch, clock)
    assert REG is not None
    resolver.get(REG)
    clock.now += LIFE * 0.6
    assert resolver.get(REG).password == "pw-2"
    assert cache.load(HOST, "id1").password == "pw-2"  # type: ignore[union-attr]


def test_failed_refresh_serves_the_cached_token_and_logs_why(
    world: tuple[TokenCache, Clock, Fetcher], tmp_path: Path
) -> None:
    cache, clock, fetch = world
    resolver = tokens.Resolver(cache, "id1", fetch, clock)
    assert REG is not None
    resolver.get(REG)
    clock.now += LIFE * 0.9  # 72 minutes left
    fetch.fail = True
    assert resolver.get(REG).password == "pw-1"
    logged = (tmp_path / "cache" / "ecrpy.log").read_text()
    assert "fallback" in logged and "pw-1" not in logged


def test_failed_refresh_near_expiry_is_an_error(world: tuple[TokenCache, Clock, Fetcher]) -> None:
    cache, clock, fetch = world
    resolver = tokens.Resolver(cache, "id1", fetch, clock)
    assert REG is not None
    resolver.get(REG)
    clock.now += LIFE - 120  # two minutes left: too close to serve
    fetch.fail = True
    with pytest.raises(TokenUnavailable):
        resolver.get(REG)


def test_an_expired_token_is_never_served(world: tuple[TokenCache, Clock, Fetcher]) -> None:
    cache, clock, fetch = world
    tokens.Resolver(cache, "id1", fetch, clock).get(REG)  # type: ignore[arg-type]
    clock.now += LIFE + 60
    fetch.fail = True
    with pytest.raises(TokenUnavailable):
        tokens.Resolver(cache, "id1", fetch, clock).get(REG)  # type: ignore[arg-type]


def test_identities_never_share_a_token(world: tuple[TokenCache, Clock, Fetcher]) -> None:
    cache, clock, fetch = world
    assert REG is not None
    first = tokens.Resolver(cache, "alice", fetch, clock).get(REG)
    second = tokens.Resolver(cache, "bob", fetch, clock).get(REG)
    assert (first.password, second.password) == ("pw-1", "pw-2")
    assert tokens.Resolver(cache, "alice", fetch, clock).get(REG).password == "pw-1"
    assert fetch.calls == 2


def test_without_a_cache_every_get_fetches(world: tuple[TokenCache, Clock, Fetcher]) -> None:
    _, clock, fetch = world
    resolver = tokens.Resolver(None, "id1", fetch, clock)
    assert REG is not None
    resolver.get(REG)
    resolver.get(REG)
    assert fetch.calls == 2


def test_expired_entries_are_pruned_on_the_next_write(
    world: tuple[TokenCache, Clock, Fetcher],
) -> None:
    cache, clock, fetch = world
    cache.save(Entry("public.ecr.aws", "id1", "AWS", "old", T0 - 10, T0 - LIFE))
    tokens.Resolver(cache, "id1", fetch, clock).get(REG)  # type: ignore[arg-type]
    assert [e.host for e in cache.entries()] == [HOST]
