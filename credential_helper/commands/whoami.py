"""``docker-credential-ecrpy whoami REGISTRY [--check]``: who would get this registry's token.

Answers the question behind most "why can't I push" tickets: which entry of ecrpy's settings
matched, which AWS profile and role are used, whether a token is cached, and, with ``--check``,
who AWS says the caller is and whether ECR hands out a token. Never prints a secret.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from typing import TextIO

from .. import access, cache, config, ecr, identity, paths, protocol, registry, tokens
from ..errors import TokenUnavailable
from .common import marks, not_ecr, when


def _line(out: TextIO, label: str, text: str) -> None:
    out.write(f"{label:<10} {text}\n")


def describe(reg: registry.Registry, settings: config.Settings) -> str:
    if reg.public:
        return f"{reg.host} (ECR Public, token from ecr-public in {reg.region})"
    flags = [flag for flag, on in (("FIPS", reg.fips), ("dual-stack", reg.dualstack)) if on]
    extra = f", {', '.join(flags)}" if flags else ""
    return f"{reg.host} (account {reg.account}, {reg.region}, partition {reg.partition}{extra})"


def run(argv: list[str], environ: Mapping[str, str], out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(
        prog="docker-credential-ecrpy whoami",
        description="Show which AWS identity and role ecrpy uses for a registry.",
    )
    parser.add_argument("registry", help="registry hostname, alias or image reference")
    parser.add_argument(
        "--check", action="store_true", help="also ask AWS who you are and try to get a token"
    )
    args = parser.parse_args(argv)

    try:
        found = registry.route(args.registry, environ)
        reg = found.registry
        if reg is None:
            out.write(not_ecr(protocol.authority(args.registry) or "''") + "\n")
            return 1
        settings = access.settings_for(environ, reg)
    except TokenUnavailable as exc:  # a broken settings file
        out.write(f"ecrpy: {exc}\n")
        return 1
    fingerprint = identity.current(environ)
    _line(out, "registry", describe(reg, settings))
    if found.kind == registry.ALIAS:
        _line(out, "alias", f"{found.name}, from [aliases] in {paths.settings_file(environ)}")
    _line(out, "settings", settings.source or f"none matched in {paths.settings_file(environ)}")
    base = settings.profile or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE")
    if settings.profile:
        _line(out, "profile", f"{settings.profile} (from ecrpy's settings)")
    elif base:
        _line(out, "profile", f"{base} (from AWS_PROFILE)")
    else:
        _line(out, "profile", "none: botocore's default chain (environment, files, SSO, roles)")
    if settings.role_arn:
        details = [f"session name {settings.role_session_name or 'ecrpy'}"]
        if settings.external_id:
            details.append("external id set")
        if settings.duration_seconds:
            details.append(f"{settings.duration_seconds} s")
        sts_region = settings.region or reg.region
        _line(out, "role", f"{settings.role_arn} via STS in {sts_region} ({', '.join(details)})")
    else:
        _line(out, "role", "none: the token is fetched with the profile's own identity")
    _line(out, "identity", f"fingerprint {fingerprint}")
    _cached(out, environ, reg, fingerprint)
    if not args.check:
        return 0
    return _check(out, reg, settings)


def _cached(out: TextIO, environ: Mapping[str, str], reg: registry.Registry, fp: str) -> None:
    directory = paths.cache_dir(environ)
    if directory is None or cache.disabled(environ):
        _line(out, "cache", "disabled")
        return
    entry = cache.TokenCache(directory).load(reg.host, fp)
    now = time.time()
    if entry is None or entry.expires_at <= now:
        _line(out, "cache", f"no token cached in {directory}")
    else:
        state = "fresh" if tokens.is_fresh(entry, now) else "due for refresh"
        _line(out, "cache", f"token valid until {when(entry.expires_at)} ({state})")


def _check(out: TextIO, reg: registry.Registry, settings: config.Settings) -> int:
    ok, bad = marks(out)[True], marks(out)[False]
    try:
        caller = ecr.caller(reg, settings, ecr.credentials_for(reg, settings))
        _line(out, "caller", f"{caller['Arn']} (account {caller['Account']})")
    except TokenUnavailable as exc:
        _line(out, "caller", f"{bad} {exc}")
        return 1
    except Exception as exc:
        _line(out, "caller", f"{bad} {ecr.explain(exc, reg)[0]}")
        return 1
    try:
        token = ecr.fetch(reg, settings)
    except TokenUnavailable as exc:
        _line(out, "token", f"{bad} {exc}")
        return 1
    _line(out, "token", f"{ok} ECR hands out a token, valid until {when(token.expires_at)}")
    return 0
