"""``docker-credential-ecrpy login [REGISTRY ...]``: the interactive step before a day of pulls.

Docker runs ``get`` with no terminal, so a profile whose role needs an MFA code (``mfa_serial``)
or an SSO session that has run out cannot be dealt with there. ``login`` runs on a terminal,
with no deadline: botocore asks for the MFA code itself (on the terminal), an expired or missing
SSO session gets the exact ``aws sso login --profile <name>`` to run, and the tokens it fetches
go into the cache through the same policy and lock as ``get``: the ``get``s of the next hours,
with the same AWS settings, are cache hits and need no terminal and no AWS call.

Without a terminal it does nothing and says so in one line: a prompt nobody can answer must not
hang a script. (Scripts use ``export`` or ``get``; both fail in one line when AWS says no.)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from typing import TextIO

from .. import access, config, docker_config, ecr, paths, protocol
from ..errors import CONFIG, NO_CREDENTIALS, TokenUnavailable
from ..registry import Registry, route
from .common import PROGRAM as HELPER
from .common import marks, when

PROGRAM = f"{HELPER} login"
NOT_ECR = "not an Amazon ECR registry nor an alias in ecrpy's settings"
NO_TERMINAL = (
    "ecrpy: login needs a terminal (it may ask for an MFA code); in scripts, "
    "the export command or Docker's own get fetch tokens without one"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Fetch and cache ECR tokens on a terminal, answering MFA prompts; "
        "say how to renew an expired SSO session.",
    )
    parser.add_argument(
        "registries",
        nargs="*",
        metavar="REGISTRY",
        help="registry, alias or image reference; none: every registry Docker's config "
        "sends to ecrpy",
    )
    return parser


def configured(environ: Mapping[str, str]) -> list[str]:
    """The registries (and aliases) that Docker's ``credHelpers`` send to ecrpy."""
    path = paths.docker_config(environ)
    text, _ = docker_config.read(path)
    document = docker_config.parse(text or "", path)
    helpers = docker_config.section(document, "credHelpers")
    return [key for key, helper in helpers.items() if helper == docker_config.HELPER]


def sso_profile(
    registry: Registry, settings: config.Settings, environ: Mapping[str, str]
) -> str | None:
    """The profile whose SSO session serves this registry, or None when it is no SSO profile."""
    name = settings.profile or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE")
    try:
        scoped = ecr.profile_config(settings.profile)
    except Exception:  # a profile that does not exist: the fetch already said so
        return None
    if any(key in scoped for key in ("sso_session", "sso_start_url")):
        return name or "default"
    return None


def _explain(exc: TokenUnavailable, registry: Registry, environ: Mapping[str, str]) -> str:
    """The failure, with the command that fixes an SSO session that is missing or has expired."""
    if exc.kind in (CONFIG, NO_CREDENTIALS):
        try:
            settings = access.settings_for(environ, registry)
        except TokenUnavailable:
            return str(exc)
        profile = sso_profile(registry, settings, environ)
        if profile is not None:
            return (
                f"the AWS SSO session of profile {profile} has expired or was never started: "
                f"run `aws sso login --profile {profile}`, then {PROGRAM} again"
            )
    return str(exc)


def run(
    argv: list[str],
    environ: Mapping[str, str],
    out: TextIO = sys.stdout,
    stdin: TextIO = sys.stdin,
) -> int:
    args = _parser().parse_args(argv)
    if not stdin.isatty():
        out.write(NO_TERMINAL + "\n")
        return 1
    try:
        references = args.registries or configured(environ)
    except docker_config.DockerConfigError as exc:
        out.write(f"ecrpy: {exc}\n")
        return 1
    if not references:
        out.write(
            f"ecrpy: no registry uses ecrpy in {paths.docker_config(environ)}: name one, "
            f"e.g. {PROGRAM} 123456789012.dkr.ecr.us-east-1.amazonaws.com\n"
        )
        return 1
    # No deadline: a person is typing an MFA code. One Resolver: a role assumed once (and its
    # MFA code asked once) serves every registry that uses it.
    resolver = access.resolver(environ, timed=False)
    failed, ok, bad = 0, marks(out)[True], marks(out)[False]
    for reference in references:
        shown = protocol.authority(reference)
        try:
            registry = route(reference, environ).registry
        except TokenUnavailable as exc:  # a broken settings file
            out.write(f"{bad} {shown}: {exc}\n")
            failed += 1
            continue
        if registry is None:
            out.write(
                f"{bad} {shown}: not an Amazon ECR registry nor an alias in ecrpy's settings\n"
            )
            failed += 1
            continue
        try:
            entry = resolver.get(registry)
        except TokenUnavailable as exc:
            out.write(f"{bad} {shown}: {_explain(exc, registry, environ)}\n")
            failed += 1
            continue
        left = (entry.expires_at - time.time()) / 3600
        out.write(
            f"{ok} {shown}: token cached, valid until {when(entry.expires_at)} ({left:.0f} h)\n"
        )
    return 1 if failed else 0
