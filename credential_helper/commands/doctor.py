"""``docker-credential-ecrpy doctor``: the whole set-up checked, one line each, with the fix.

Written to be pasted into a ticket: ✔/✗ per check, the fix under each ✗, never a secret. It asks
AWS (STS GetCallerIdentity and ECR GetAuthorizationToken) for every registry that uses ecrpy,
each under the same deadline as a ``get``. ``--json`` gives the same for machines.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import time
from collections.abc import Mapping
from typing import Any, NamedTuple, TextIO

from .. import __version__, cache, config, docker_config, identity, log, registry
from ..deadline import TIMEOUT_ENV, Deadline, timeout_from
from ..errors import TokenUnavailable
from . import configure

SKEW_LIMIT = 300.0  # AWS refuses signatures more than 15 minutes off; warn well before


class Check(NamedTuple):
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _helper_on_path(environ: Mapping[str, str]) -> Check:
    import shutil

    found = shutil.which(configure.PROGRAM, path=environ.get("PATH"))
    if found:
        return Check("helper on PATH", True, found)
    return Check(
        "helper on PATH",
        False,
        f"{configure.PROGRAM} is not on PATH, so Docker cannot run it",
        configure.path_warning(environ) or "",
    )


def _docker_config(environ: Mapping[str, str]) -> tuple[list[Check], list[str]]:
    """Checks of Docker's config.json, and the registries that use ecrpy."""
    path = docker_config.path_for(environ)
    name = f"Docker config {path}"
    try:
        text, _ = docker_config.read(path)
        document = docker_config.parse(text or "", path)
    except docker_config.DockerConfigError as exc:
        return [Check(name, False, str(exc), "fix the file by hand, or move it away")], []
    if text is None:
        fix = f"{configure.PROGRAM} configure <registry>"
        return [Check(name, False, "does not exist: Docker uses no credential helper", fix)], []
    helpers = docker_config.section(document, "credHelpers")
    ours = [host for host, value in helpers.items() if value == docker_config.HELPER]
    checks = []
    if ours:
        count = "1 registry uses" if len(ours) == 1 else f"{len(ours)} registries use"
        checks.append(Check(name, True, f"{count} ecrpy: {', '.join(ours)}"))
    else:
        checks.append(
            Check(
                name, False, "no registry uses ecrpy", f"{configure.PROGRAM} configure <registry>"
            )
        )
    known = docker_config.ecr_registries(document)
    saved = docker_config.saved_passwords(document)
    if saved:
        checks.append(
            Check(
                "saved ECR passwords",
                False,
                f"auths still holds a password for {', '.join(saved)}",
                f"{configure.PROGRAM} configure --yes (moves them out)",
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
                f"{configure.PROGRAM} configure --yes",
            )
        )
    return checks, ours


def _settings_file(environ: Mapping[str, str]) -> tuple[Check, config.Config | None]:
    path = identity.config_path(environ)
    try:
        loaded = config.load(environ)
    except config.ConfigError as exc:
        return Check("ecrpy settings", False, str(exc), "fix the line it names"), None
    if not os.path.exists(path):
        return Check("ecrpy settings", True, f"none at {path}: default AWS identity"), loaded
    return Check("ecrpy settings", True, f"{path}: {len(loaded.entries)} entries"), loaded


def _registry_checks(
    host: str, loaded: config.Config, deadline: float
) -> tuple[list[Check], float | None]:
    """Identity, caller and token for one registry; and the clock skew AWS's reply showed."""
    from .. import ecr

    found = registry.parse(host)
    if found is None:
        return [
            Check(host, False, "not an ECR registry hostname", "remove it from credHelpers")
        ], None
    settings = config.settings_for(loaded, found)
    who = settings.role_arn or settings.profile or "default AWS identity"
    skew = None
    try:
        with Deadline(deadline, f"checking {host}"):
            credentials = ecr.credentials_for(found, settings)
            sts = ecr._client(
                "sts",
                settings.region or found.region,
                found.fips,
                False,
                settings.profile,
                credentials,
            )
            caller = sts.get_caller_identity()
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


def _fix_for(exc: TokenUnavailable) -> str:
    from ..errors import CONFIG, DENIED, NETWORK, NO_CREDENTIALS

    return {
        NO_CREDENTIALS: "set AWS_PROFILE or keys, renew the session (aws sso login), or use a role",
        DENIED: "allow ecr:GetAuthorizationToken (and sts:AssumeRole for a role) in IAM",
        NETWORK: "check the network, proxy and TLS between this machine and AWS",
        CONFIG: "fix the AWS configuration the message names",
    }.get(exc.kind, "see docs/troubleshooting.md")


def _cache_dir(environ: Mapping[str, str]) -> Check:
    directory = cache.default_dir(environ)
    if cache.disabled(environ):
        return Check("token cache", True, "disabled by AWS_ECR_DISABLE_CACHE: a fetch per get")
    if directory is None:
        return Check(
            "token cache",
            False,
            "no HOME: tokens are fetched on every get",
            "set HOME or AWS_ECR_CACHE_DIR",
        )
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return Check("token cache", True, f"{directory} (created on the first get)")
    except OSError as exc:
        return Check("token cache", False, f"{directory}: {exc.strerror}", "fix its permissions")
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return Check(
            "token cache",
            False,
            f"{directory} is not a plain directory",
            f"rm {directory} (ecrpy recreates it)",
        )
    if info.st_uid != os.geteuid():
        return Check(
            "token cache",
            False,
            f"{directory} belongs to uid {info.st_uid}",
            f"rm -r {directory} (ecrpy recreates it as yours)",
        )
    if mode & 0o077:
        return Check(
            "token cache", False, f"{directory} has mode {mode:04o}", f"chmod 700 {directory}"
        )
    return Check("token cache", True, f"{directory} (mode {mode:04o}, yours)")


def _clock(skews: list[float]) -> Check:
    if not skews:
        return Check("clock", True, "not compared: no AWS reply")
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
    skews: list[float] = []
    if loaded is not None:
        deadline = timeout_from(environ.get(TIMEOUT_ENV))
        for host in hosts:
            found, skew = _registry_checks(host, loaded, deadline)
            result += found
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
        prog=f"{configure.PROGRAM} doctor",
        description="Check ecrpy's whole set-up and say how to fix each problem.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    found = checks(environ)
    ok = all(check.ok for check in found)
    if args.json:
        payload: dict[str, Any] = {
            "ok": ok,
            "version": __version__,
            "checks": [check._asdict() for check in found],
        }
        out.write(json.dumps(payload, indent=2) + "\n")
    else:
        out.write(f"ecrpy {__version__} doctor\n")
        for check in found:
            out.write(f"{'✔' if check.ok else '✗'} {check.name}: {check.detail}\n")
            if not check.ok and check.fix:
                out.write(f"    fix: {check.fix}\n")
    return 0 if ok else 1
