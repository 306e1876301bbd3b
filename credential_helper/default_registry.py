"""``list``'s default registry: the ECR registry of the AWS account in force, in the known region.

GitLab Runner (``helpers/docker/auth/auth.go``) and the classic builder resolve a ``credsStore``
by calling ``list`` and then ``get`` for every key it returns. A cold runner has no cached token,
so a ``list`` of cached tokens alone names no ECR registry and the job gets no credentials. The
Go helper's ``list`` names the default registry of the credentials in force, but asks ECR on
every ``list``. ecrpy finds it once per identity and region (STS ``GetCallerIdentity``),
remembers the account in the cache directory, and gets its token through the same
:class:`tokens.Resolver` as a ``get`` (cached, single flight, under the deadline): the runner's
``get`` that follows is warm, and a later ``list`` asks AWS nothing.

``list`` has no error to give for this: without a region (``AWS_REGION``, ``AWS_DEFAULT_REGION``,
the profile's ``region``) nothing is asked, and any failure goes to the log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from . import ecr, log
from .access import resolver
from .cache import Entry, TokenCache
from .deadline import TIMEOUT_ENV, Deadline, timeout_from
from .errors import CONFIG, NO_CREDENTIALS, TokenUnavailable
from .paths import aws_files
from .registry import parse, private_host

MEMO = "default-registry"  # the cache's note of the account: (MEMO.<region>, identity)


def region(environ: Mapping[str, str]) -> str | None:
    """The region the AWS CLI would use here, or None when nothing names one."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = environ.get(name, "").strip()
        if value:
            return value
    if not os.path.isfile(aws_files(environ)[0]):  # no AWS config file: no profile's region
        return None
    return ecr.profile_region()


def listed(environ: Mapping[str, str], cache: TokenCache | None, identity: str) -> dict[str, str]:
    """``{"https://<registry>": "AWS"}`` for the default registry, or ``{}``; never raises."""
    where = region(environ)
    if where is None:
        return {}
    try:
        entry = _resolve(environ, cache, identity, where)
    except Exception as exc:  # list answers anyway: the registries it knows without AWS
        why = str(exc) if isinstance(exc, TokenUnavailable) else type(exc).__name__
        if getattr(exc, "kind", None) == NO_CREDENTIALS:  # no AWS at all: normal, say it quietly
            log.info("list: no default registry in %s: %s", where, why)
        else:
            log.warning("list: no default registry in %s: %s", where, why)
        return {}
    return {f"https://{entry.host}": entry.username}


def _resolve(
    environ: Mapping[str, str], cache: TokenCache | None, identity: str, where: str
) -> Entry:
    seconds = timeout_from(environ.get(TIMEOUT_ENV))
    key = f"{MEMO}.{where}"
    account = cache.recall(key, identity) if cache else None
    if account is None:
        with Deadline(seconds, f"finding the AWS account in force in {where}"):
            account = ecr.caller_account(where)
        if cache is not None:
            cache.remember(key, identity, account)
    host = private_host(account, where)
    registry = parse(host) if host else None
    if registry is None:
        raise TokenUnavailable(f"no ECR registry for account {account} in {where}", CONFIG)
    return resolver(environ, fingerprint=identity).get(registry)
