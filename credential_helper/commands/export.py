"""``docker-credential-ecrpy export``: ECR credentials for the tools that never run a helper.

Kaniko reads a ``config.json``, ``ctr`` and ``crictl`` take ``user:password``, Argo CD, Flux and
clusters outside EKS pull with a ``kubernetes.io/dockerconfigjson`` Secret. Users feed them from
cron jobs around ``aws ecr get-login-password``; ``export`` gives them the same tokens a ``get``
does, from the same cache, under the same policy and lock (``tokens.Resolver``): 32 jobs exporting
at once still make one ECR call, and a token is refreshed at half-life, or earlier when
``--min-validity`` asks for more time left than the cached one has.

Formats:

- ``dockerconfig`` (default): ``{"auths": {"<registry>": {"auth": base64("AWS:<password>")}}}``,
  what Kaniko, buildah, podman and skopeo read with ``--authfile``;
- ``k8s-secret``: a ``v1`` Secret of type ``kubernetes.io/dockerconfigjson`` (for
  ``kubectl apply -f -``), with the earliest token expiry in an annotation;
- ``basic``: ``AWS:<password>``, for ``ctr --user`` and ``crictl --creds`` (one registry).

A registry is named by its hostname, an alias of the settings, or an image reference. The answer
goes to stdout, or with ``--output FILE`` into a file created 0600 and replaced atomically, so a
reader never sees half a file. Errors are one line on stderr, as a ``get`` gives them; nothing
secret is logged.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import re
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from .. import protocol, safefile
from ..access import resolver
from ..cache import Entry
from ..errors import TokenUnavailable, redact
from ..registry import Registry, route
from .common import PROGRAM as HELPER
from .common import not_ecr_reason

PROGRAM = f"{HELPER} export"
FORMATS = ("dockerconfig", "k8s-secret", "basic")
SECRET_TYPE = "kubernetes.io/dockerconfigjson"  # noqa: S105 (a type name, no secret)
EXPIRY_ANNOTATION = "ecrpy/token-expires-at"
DEFAULT_NAME = "ecr-pull"
TOKEN_LIFETIME = 12 * 3600.0  # what ECR hands out: a longer --min-validity can never be met
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}


class ExportError(Exception):
    """An argument or a registry export cannot serve; the message is the one line on stderr."""


def parse_duration(text: str) -> float:
    """Go-style durations: ``6h``, ``90m``, ``1h30m``, ``45s``, ``0``; seconds as a float."""
    value = text.strip()
    if value == "0":
        return 0.0
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        raise ExportError(
            f"--min-validity must be a duration such as 6h, 90m or 1h30m, not {text!r}"
        )
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Print ECR credentials for tools that do not run credential helpers.",
    )
    parser.add_argument(
        "registries",
        nargs="+",
        metavar="REGISTRY",
        help="an ECR registry hostname, an alias from ecrpy's settings, or an image reference",
    )
    parser.add_argument("--format", choices=FORMATS, default="dockerconfig", help="what to print")
    parser.add_argument(
        "--min-validity",
        default="0",
        metavar="DURATION",
        help="refresh any token with less than this left (6h, 90m; ECR tokens live 12h)",
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write here (0600, atomically)")
    parser.add_argument("--name", default=DEFAULT_NAME, help="k8s-secret: the Secret's name")
    parser.add_argument("--namespace", help="k8s-secret: the Secret's namespace")
    return parser


def targets(references: list[str], environ: Mapping[str, str]) -> list[tuple[str, Registry]]:
    """(the key to write, the registry) for each reference, duplicates dropped, in order.

    The key is the name as the user gave it (an alias stays the alias, with its port), reduced
    to ``host[:port]`` the way clients look an ``auths`` entry up.
    """
    found: dict[str, Registry] = {}
    for given in references:
        # skopeo's and podman's transport prefix names an image, not a URL scheme
        reference = given[len("docker://") :] if given.startswith("docker://") else given
        registry = route(reference, environ).registry  # a broken settings file: TokenUnavailable
        key = protocol.authority(reference)  # what a client looks the auths entry up by
        if registry is None:
            raise ExportError(not_ecr_reason(key or protocol.without_userinfo(reference)))
        found.setdefault(key, registry)
    return list(found.items())


def tokens_for(
    wanted: list[tuple[str, Registry]], environ: Mapping[str, str], min_validity: float
) -> list[tuple[str, Entry]]:
    """A token per registry, from the cache or fetched under its lock, as ``get`` has them."""
    source = resolver(environ, min_validity=min_validity)
    result, started = [], time.time()
    for key, registry in wanted:
        entry = source.get(registry)
        left = entry.expires_at - time.time()
        bounded = entry.expires_at < entry.token_expires_at  # by the session's end
        if left < min_validity and bounded and entry.fetched_at >= started:  # new, yet too short
            raise ExportError(
                f"the token for {registry.host} has only {left / 3600:.1f} h left, less than "
                "--min-validity: the AWS session that minted it ends then; ask for less, or "
                "give the role a longer session (duration_seconds)"
            )
        if left < min_validity:  # a refresh failed and a stale token was all there was
            raise ExportError(
                f"the token for {registry.host} has only {left / 3600:.1f} h left, less than "
                "--min-validity, and no fresh one could be had (see the log)"
            )
        result.append((key, entry))
    return result


def _basic(entry: Entry) -> str:
    return f"{entry.username}:{entry.password}"


def dockerconfig(tokens: list[tuple[str, Entry]]) -> dict[str, Any]:
    auths = {
        key: {"auth": base64.b64encode(_basic(entry).encode()).decode("ascii")}
        for key, entry in tokens
    }
    return {"auths": auths}


def rfc3339(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def k8s_secret(tokens: list[tuple[str, Entry]], name: str, namespace: str | None) -> dict[str, Any]:
    """A ``v1`` Secret of type ``kubernetes.io/dockerconfigjson``, as ``kubectl`` writes one."""
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["annotations"] = {
        EXPIRY_ANNOTATION: rfc3339(min(entry.expires_at for _, entry in tokens))
    }
    config_json = json.dumps(dockerconfig(tokens), separators=(",", ":"))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": SECRET_TYPE,
        "data": {".dockerconfigjson": base64.b64encode(config_json.encode()).decode("ascii")},
    }


def render(form: str, tokens: list[tuple[str, Entry]], name: str, namespace: str | None) -> str:
    if form == "basic":
        return _basic(tokens[0][1]) + "\n"
    document = (
        dockerconfig(tokens) if form == "dockerconfig" else k8s_secret(tokens, name, namespace)
    )
    return json.dumps(document, indent="\t") + "\n"


def _check_name(name: str, what: str, label: bool = False) -> None:
    """Kubernetes names: a Secret's is a DNS subdomain (lowercase letters, digits, ``-`` and
    ``.``, at most 253), a namespace's a DNS label (no ``.``, at most 63)."""
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-" + ("" if label else "."))
    if not (
        0 < len(name) <= (63 if label else 253)
        and set(name) <= allowed
        and name[0].isalnum()
        and name[-1].isalnum()
    ):
        kind = (
            "a Kubernetes namespace (lowercase letters, digits and '-')"
            if label
            else ("a Kubernetes name (lowercase letters, digits, '-' and '.')")
        )
        raise ExportError(f"{what} must be {kind}, not {name!r}")


def _write(path: str, text: str) -> None:
    if os.path.lexists(path) and not os.path.isfile(path):
        raise ExportError(f"--output {path} is not a regular file; ecrpy will not replace it")
    try:
        safefile.write_atomic(path, text.encode("utf-8"), 0o600)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror}") from None


def run(
    argv: list[str],
    environ: Mapping[str, str],
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    args = _parser().parse_args(argv)
    try:
        min_validity = parse_duration(args.min_validity)
        if min_validity >= TOKEN_LIFETIME:
            raise ExportError("--min-validity must be less than 12h: ECR tokens live 12 hours")
        if args.format == "basic" and len(args.registries) > 1:
            raise ExportError("--format basic prints one user:password: name one registry")
        if args.format == "k8s-secret":
            _check_name(args.name, "--name")
            if args.namespace is not None:
                _check_name(args.namespace, "--namespace", label=True)
        wanted = targets(args.registries, environ)
        text = render(
            args.format, tokens_for(wanted, environ, min_validity), args.name, args.namespace
        )
        if args.output:
            _write(args.output, text)
        else:
            out.write(text)
    except (ExportError, TokenUnavailable) as exc:
        err.write(redact(protocol.one_line(f"ecrpy: {exc}"), environ) + "\n")
        return 1
    return 0
