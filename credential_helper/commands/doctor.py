"""``docker-credential-ecrpy doctor``: the whole set-up checked, one line each, with the fix.

Written to be pasted into a ticket: ✔/✗ per check, the fix under each ✗, never a secret. It asks
AWS (STS GetCallerIdentity and ECR GetAuthorizationToken) for every registry that uses ecrpy,
each under the same deadline as a ``get``. ``--json`` gives the same for machines.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import ssl
import stat
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, NamedTuple, TextIO

from .. import (
    __version__,
    cache,
    config,
    docker_config,
    ecr,
    fallback,
    log,
    paths,
    protocol,
    registry,
    safefile,
    store_mode,
)
from ..deadline import TIMEOUT_ENV, Deadline, timeout_from
from ..errors import CONFIG, DENIED, NETWORK, NO_CREDENTIALS, TokenUnavailable, redact
from ..protocol import HelperError
from .common import PROGRAM, marks, path_fix

SKEW_LIMIT = 300.0  # AWS refuses signatures more than 15 minutes off; warn well before


class Check(NamedTuple):
    """One line of the report. ``ok`` is None for a check that could not be made: it is shown
    as not made, with why, never as a pass."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""

    @property
    def status(self) -> str:
        return {True: "ok", False: "problem", None: "not made"}[self.ok]


def _helper_on_path(environ: Mapping[str, str]) -> Check:
    found = shutil.which(PROGRAM, path=environ.get("PATH"))
    if found:
        return Check("helper on PATH", True, found)
    return Check(
        "helper on PATH",
        False,
        f"{PROGRAM} is not on PATH, so Docker cannot run it",
        path_fix(environ) or "",
    )


def _docker_config(environ: Mapping[str, str]) -> tuple[list[Check], list[str]]:
    """Checks of Docker's config.json, and the registries that use ecrpy."""
    path = paths.docker_config(environ)
    name = f"Docker config {path}"
    try:
        text, _ = docker_config.read(path)
        document = docker_config.parse(text or "", path)
    except docker_config.DockerConfigError as exc:
        return [Check(name, False, str(exc), "fix the file by hand, or move it away")], []
    if text is None:
        fix = f"{PROGRAM} configure <registry>"
        return [Check(name, False, "does not exist: Docker uses no credential helper", fix)], []
    helpers = docker_config.section(document, "credHelpers")
    ours = [host for host, value in helpers.items() if value == docker_config.HELPER]
    checks = []
    if document.get("credsStore") == docker_config.HELPER:  # every ECR registry, named or not
        taken = {
            protocol.hostname(key)
            for key, value in helpers.items()
            if value != docker_config.HELPER
        }
        named = [host for host in docker_config.ecr_registries(document) if host not in taken]
        ours = list(dict.fromkeys([*ours, *named]))
        checks.append(Check(name, True, "credsStore is ecrpy: ecrpy serves every ECR registry"))
    elif ours:
        count = "1 registry uses" if len(ours) == 1 else f"{len(ours)} registries use"
        checks.append(Check(name, True, f"{count} ecrpy: {', '.join(ours)}"))
    else:
        checks.append(
            Check(name, False, "no registry uses ecrpy", f"{PROGRAM} configure <registry>")
        )
    known = docker_config.ecr_registries(document)
    saved = docker_config.saved_passwords(document)
    if saved:
        checks.append(
            Check(
                "saved ECR passwords",
                False,
                f"auths still holds a password for {', '.join(saved)}",
                f"{PROGRAM} configure --yes (moves them out)",
            )
        )
    else:
        checks.append(Check("saved ECR passwords", True, "none in auths"))
    others = [host for host in known if host not in ours]
    store = document.get("credsStore")
    if others:
        via = (
            f"credsStore {store!r}" if store and store != docker_config.HELPER else "another helper"
        )
        checks.append(
            Check(
                "ECR registries not using ecrpy",
                False,
                f"{', '.join(others)} go to {via}",
                f"{PROGRAM} configure --yes",
            )
        )
    return checks, ours


def _store_mode(environ: Mapping[str, str], loaded: config.Config) -> Check | None:
    """Who keeps the logins of registries that are not ECR, and whether it answers; None when
    ecrpy has no part in that (it is not the credsStore, and no fallback is named)."""
    path = paths.docker_config(environ)
    try:
        text, _ = docker_config.read(path)
        store = docker_config.parse(text or "", path).get("credsStore")
    except docker_config.DockerConfigError:
        store = None
    name = "other registries"
    if store != docker_config.HELPER and not loaded.fallback:
        return None
    if store != docker_config.HELPER:
        unused = f" (the [store] fallback {loaded.fallback!r} is unused)" if loaded.fallback else ""
        keeper = f"credsStore {store!r}" if store else "config.json"
        return Check(name, True, f"kept by {keeper}: ecrpy serves only its credHelpers{unused}")
    if loaded.fallback:
        keeper = f"fallback {fallback.program(loaded.fallback)}"
    else:
        keeper = f"ecrpy's own store {paths.login_store(environ)}"
    try:
        count = len(store_mode.other_logins(environ))
    except HelperError as exc:
        return Check(
            name,
            False,
            f"kept by {keeper}, which does not answer: {exc.message}",
            f"fix the store, or change [store] fallback in {loaded.path}",
        )
    return Check(name, True, f"kept by {keeper} (answers: {count} logins)")


def _settings_file(environ: Mapping[str, str]) -> tuple[Check, config.Config | None]:
    path = paths.settings_file(environ)
    try:
        loaded = config.load(environ)
    except config.ConfigError as exc:
        return Check("ecrpy settings", False, str(exc), "fix the line it names"), None
    if not os.path.exists(path):
        return Check("ecrpy settings", True, f"none at {path}: default AWS identity"), loaded
    detail = f"{path}: {len(loaded.entries)} entries"
    if loaded.aliases:
        detail += f", {len(loaded.aliases)} aliases"
    return Check("ecrpy settings", True, detail), loaded


def _registry_checks(
    host: str, loaded: config.Config, deadline: float, environ: Mapping[str, str]
) -> tuple[list[Check], float | None]:
    """Identity, caller and token for one registry; and the clock skew AWS's reply showed."""
    try:
        found = registry.route(host, environ).registry
    except TokenUnavailable:  # the settings were read a moment ago: changed since
        found = None
    if found is None:
        return [
            Check(
                host,
                False,
                "not an ECR registry hostname nor an alias in ecrpy's settings",
                "remove it from credHelpers",
            )
        ], None
    settings = config.settings_for(loaded, found)
    who = settings.role_arn or settings.profile or "default AWS identity"
    skew = None
    try:
        with Deadline(deadline, f"checking {host}"):
            credentials = ecr.credentials_for(found, settings)
            caller = ecr.caller(found, settings, credentials)
            skew = ecr.clock_skew(caller, time.time())
            token = ecr.fetch(found, settings, credentials)
    except TokenUnavailable as exc:
        return [Check(host, False, f"via {who}: {exc}", _fix_for(exc))], skew
    except Exception as exc:
        message, kind = ecr.explain(exc, found)
        return [
            Check(host, False, f"via {who}: {message}", _fix_for(TokenUnavailable(message, kind)))
        ], skew
    left = (token.expires_at - time.time()) / 3600
    return [
        Check(host, True, f"via {who}: caller {caller['Arn']}; token obtainable ({left:.0f} h)")
    ], skew


def _aws_identity(
    loaded: config.Config | None, environ: Mapping[str, str]
) -> tuple[Check, float | None]:
    """The AWS identity in force when no registry uses ecrpy yet (STS GetCallerIdentity).

    Without it a machine with no Docker config would never have its credentials looked at, and
    the first pull would be the first to find out they are missing."""
    name = "AWS identity"
    if loaded is None:
        return Check(name, None, "not checked: the ecrpy settings file does not load"), None
    profile = environ.get("AWS_PROFILE") or None
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    try:
        with Deadline(timeout_from(environ.get(TIMEOUT_ENV)), "checking the AWS identity"):
            caller = ecr.default_caller(profile, region)
            if caller is None:
                message = "no AWS credentials found (no profile, keys, SSO session or role)"
                fix = _fix_for(TokenUnavailable(message, NO_CREDENTIALS))
                return Check(name, False, message, fix), None
    except TokenUnavailable as exc:
        return Check(name, False, str(exc), _fix_for(exc)), None
    except Exception as exc:
        message = redact(protocol.one_line(f"STS GetCallerIdentity in {region}: {exc}"), environ)
        fix = "fix what the message names (credentials, network)"
        return Check(name, False, message, fix), None
    skew = ecr.clock_skew(caller, time.time())
    return Check(name, True, f"caller {caller['Arn']} (no registry checked)"), skew


ALIAS_TIMEOUT = 5.0  # seconds for an alias's DNS lookup and its /v2/ answer


def registry_challenge(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a ``GET /v2/`` answer is a registry's: a 401 with a ``WWW-Authenticate``
    challenge (as ECR and every registry with auth give), or the distribution API's header."""
    lowered = {key.lower(): value for key, value in headers.items()}
    if status == 401 and lowered.get("www-authenticate"):
        return True
    return "docker-distribution-api-version" in lowered


def _alias_check(alias: str, target: str) -> Check:
    """The alias resolves, and ``https://<alias>/v2/`` answers with a registry challenge."""
    name = f"alias {alias}"
    host, _, port = alias.partition(":")
    try:
        socket.getaddrinfo(host, int(port or 443), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        return Check(
            name,
            False,
            f"{host} does not resolve ({exc.__class__.__name__}): clients cannot reach {target} "
            "by this name",
            f"add {host} to DNS (or /etc/hosts), pointing at the proxy or mirror in front of "
            f"{target}",
        )
    url = f"https://{alias}/v2/"
    request = urllib.request.Request(url, headers={"User-Agent": "ecrpy-doctor"})
    try:
        with urllib.request.urlopen(request, timeout=ALIAS_TIMEOUT) as reply:  # noqa: S310
            status, headers = reply.status, dict(reply.headers)
    except urllib.error.HTTPError as reply:
        status, headers = reply.code, dict(reply.headers)
    except (OSError, ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check(
            name,
            False,
            f"{url} does not answer: {reason}",
            f"check that the proxy or mirror behind {alias} serves HTTPS for that name",
        )
    if not registry_challenge(status, headers):
        return Check(
            name,
            False,
            f"{url} answers HTTP {status} without a registry challenge: not a registry",
            f"point {host} at the proxy or mirror in front of {target}",
        )
    return Check(name, True, f"stands for {target}; {url} answers as a registry (HTTP {status})")


def _fix_for(exc: TokenUnavailable) -> str:
    return {
        NO_CREDENTIALS: "set AWS_PROFILE or keys, renew the session (aws sso login), or use a role",
        DENIED: "allow ecr:GetAuthorizationToken (and sts:AssumeRole for a role) in IAM",
        NETWORK: "check the network, proxy and TLS between this machine and AWS",
        CONFIG: "fix the AWS configuration the message names",
    }.get(exc.kind, "see docs/troubleshooting.md")


def _cache_dir(environ: Mapping[str, str]) -> Check:
    directory = paths.cache_dir(environ)
    if cache.disabled(environ):
        return Check("token cache", True, "disabled by AWS_ECR_DISABLE_CACHE: a fetch per get")
    if directory is None:
        return Check(
            "token cache",
            False,
            "no HOME: tokens are fetched on every get",
            "set HOME or AWS_ECR_CACHE_DIR",
        )
    fault = safefile.private_dir(directory, closed=0o077)
    if fault is None and not safefile.OWNERS_CHECKED:
        return Check("token cache", True, f"{directory} (owner and mode not checked on Windows)")
    if fault is None:
        mode = stat.S_IMODE(os.lstat(directory).st_mode)
        return Check("token cache", True, f"{directory} (mode {mode:04o}, yours)")
    fix = {
        safefile.MISSING: None,
        safefile.FAILED: "fix its permissions",
        safefile.NOT_DIR: f"rm {directory} (ecrpy recreates it)",
        safefile.NOT_MINE: f"rm -r {directory} (ecrpy recreates it as yours)",
        safefile.OPEN: f"chmod 700 {directory}",
    }[fault.kind]
    if fix is None:
        return Check("token cache", True, f"{directory} (created on the first get)")
    return Check("token cache", False, fault.reason, fix)


def _clock(skews: list[float]) -> Check:
    if not skews:
        return Check("clock", None, "not compared: no reply from AWS to compare with")
    worst = max(skews, key=abs)
    if abs(worst) > SKEW_LIMIT:
        return Check(
            "clock",
            False,
            f"this machine's clock is {abs(worst):.0f} s "
            f"{'behind' if worst > 0 else 'ahead of'} AWS's",
            "synchronise the clock (NTP): AWS refuses requests 15 minutes off",
        )
    return Check("clock", True, f"within {max(1, round(abs(worst)))} s of AWS's clock")


def checks(environ: Mapping[str, str]) -> list[Check]:
    result = [_helper_on_path(environ)]
    docker_checks, hosts = _docker_config(environ)
    result += docker_checks
    settings_check, loaded = _settings_file(environ)
    result.append(settings_check)
    mode = _store_mode(environ, loaded) if loaded is not None else None
    if mode is not None:
        result.append(mode)
    skews: list[float] = []
    if loaded is not None:
        result += [_alias_check(alias, target) for alias, target in loaded.aliases]
        deadline = timeout_from(environ.get(TIMEOUT_ENV))
        for host in hosts:
            found, skew = _registry_checks(host, loaded, deadline, environ)
            result += found
            if skew is not None:
                skews.append(skew)
    if not hosts:  # no registry check asked AWS: still say whose credentials are in force
        check, skew = _aws_identity(loaded, environ)
        result.append(check)
        if skew is not None:
            skews.append(skew)
    result.append(_cache_dir(environ))
    result.append(_clock(skews))
    level = environ.get(log.LEVEL_ENV) or "warning"
    result.append(
        Check(
            "log",
            True,
            f"{log.path() or 'none (no cache directory)'} "
            f"(level {level}; {log.LEVEL_ENV}=debug for more)",
        )
    )
    return result


def run(argv: list[str], environ: Mapping[str, str], out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(
        prog=f"{PROGRAM} doctor",
        description="Check ecrpy's whole set-up and say how to fix each problem.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    found = checks(environ)
    ok = all(check.ok is not False for check in found)
    if args.json:
        payload: dict[str, Any] = {
            "ok": ok,
            "version": __version__,
            "checks": [{**check._asdict(), "status": check.status} for check in found],
        }
        out.write(json.dumps(payload, indent=2) + "\n")
    else:
        out.write(f"ecrpy {__version__} doctor\n")
        mark = marks(out)
        for check in found:
            out.write(f"{mark[check.ok]} {check.name}: {check.detail}\n")
            if check.ok is False and check.fix:
                out.write(f"    fix: {check.fix}\n")
    return 0 if ok else 1
