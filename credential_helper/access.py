"""The way into tokens for every front end: ecrpy's settings, the AWS fetch and the Resolver.

``get``, ``export``, ``login``, ``whoami``, ``doctor`` and ``kubelet-provider`` build their
:class:`tokens.Resolver` here, with :func:`resolver`, and read the settings a fetch uses with
:func:`settings_for`: one place that puts the cache, the identity fingerprint, the settings,
the deadline and :mod:`ecr` together. :mod:`tokens` keeps the policy and needs none of them,
so ``list`` never loads the AWS layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Callable

from . import config, ecr, identity, log
from .cache import from_environ
from .config import Config, Settings
from .deadline import TIMEOUT_ENV, timeout_from
from .ecr import Token
from .errors import TokenUnavailable
from .registry import Registry, token_host
from .tokens import Fetch, FetchMany, Resolver


def configured_fetch(environ: Mapping[str, str]) -> Fetch:
    """Fetch with the profile and role that ecrpy's settings name for each registry."""

    def fetch(registry: Registry) -> Token:
        return ecr.fetch(registry, settings_for(environ, registry))

    return fetch


def configured_fetch_many(environ: Mapping[str, str]) -> FetchMany:
    """Fetch a registry's token and, in the same request, those of ``others`` that share its
    settings; on any failure of the shared request, the one registry's alone.

    ``GetAuthorizationToken`` takes a list of registry ids and answers one token per id; a
    classic ``docker build`` asks for every ``credHelpers`` entry in turn, so one cold start
    per region instead of one per entry. Returns tokens by :func:`registry.token_host`.
    """

    def fetch_many(registry: Registry, others: Sequence[Registry]) -> dict[str, Token]:
        loaded = config.load(environ)
        settings = _settings(loaded, registry)
        same = [other for other in others if _settings(loaded, other)[:-1] == settings[:-1]]
        if same:
            try:
                return ecr.fetch_many(registry, same, settings)
            except TokenUnavailable as exc:
                log.info("fan-out %s failed, fetching it alone: %s", registry.host, exc)
        return {token_host(registry): ecr.fetch(registry, settings)}

    return fetch_many


def settings_for(environ: Mapping[str, str], registry: Registry) -> Settings:
    """ecrpy's settings for ``registry``: what every front end fetches with. A broken settings
    file raises ``config.ConfigError``, a :class:`TokenUnavailable` like any other."""
    return _settings(config.load(environ), registry)


def _settings(loaded: Config, registry: Registry) -> Settings:
    settings = config.settings_for(loaded, registry)
    log.debug("settings for %s: %s", registry.host, settings.source or "defaults")
    return settings


def resolver(
    environ: Mapping[str, str],
    *,
    timed: bool = True,
    min_validity: float = 0.0,
    fingerprint: str | None = None,
    fetch: Fetch | None = None,
    companions: Callable[[], Sequence[Registry]] | None = None,
) -> Resolver:
    """The one way into tokens: the cache, identity, settings and deadline this environment
    names, as ``get``, ``export``, ``login`` and ``kubelet-provider`` use them.

    ``timed``: each fetch under ``ECRPY_TIMEOUT`` (off for ``login``, where a person types an
    MFA code, and for the kubelet, whose whole request is under its own deadline).
    ``fingerprint``: the identity when the caller has it already (the cache key ``get`` looked
    up, or a service account's); ``fetch``: another way to fetch (a service account's role).
    ``companions``: the other registries worth one shared request (``get``'s fan-out).
    """
    return Resolver(
        from_environ(environ),
        identity.current(environ) if fingerprint is None else fingerprint,
        configured_fetch(environ) if fetch is None else fetch,
        deadline=timeout_from(environ.get(TIMEOUT_ENV)) if timed else None,
        min_validity=min_validity,
        fetch_many=configured_fetch_many(environ) if companions is not None else None,
        companions=companions,
    )
