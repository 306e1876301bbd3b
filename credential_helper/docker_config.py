"""Docker's ``config.json``: find the ECR registries in it, and rewrite it without surprises.

Docker reads ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` (located by
:func:`paths.docker_config`). For a registry it
uses, in order: a ``credHelpers`` entry, the ``credsStore``, then a base64 ``auth`` in ``auths``.
The planning functions here are pure (a document in, a document and a list of changes out);
:func:`write` is the only one that touches the disk, and it keeps every key ecrpy does not own,
their order, the file's mode, a symlink's target, and one backup.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from . import protocol, registry, safefile

HELPER = "ecrpy"


class DockerConfigError(Exception):
    """The file cannot be used as it is; the message says where and why."""


def parse(text: str, path: str) -> dict[str, Any]:
    """The document, keys in file order; an empty file is an empty document."""
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DockerConfigError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; "
            "ecrpy will not touch it: fix or move it first"
        ) from None
    if not isinstance(document, dict):
        raise DockerConfigError(f"{path} is not a JSON object; ecrpy will not touch it")
    return document


def render(document: Mapping[str, Any]) -> str:
    """Docker's own layout: tab-indented JSON."""
    return json.dumps(document, indent="\t") + "\n"


def section(document: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A top-level object of the file (``auths``, ``credHelpers``), or {} if absent or odd."""
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def ecr_registries(document: Mapping[str, Any]) -> list[str]:
    """ECR registries the file already names (in ``auths`` or ``credHelpers``), in file order."""
    found: list[str] = []
    for key in (*section(document, "auths"), *section(document, "credHelpers")):
        host = protocol.hostname(key)
        if registry.parse(host) is not None and host not in found:
            found.append(host)
    return found


def saved_passwords(document: Mapping[str, Any]) -> list[str]:
    """ECR registries for which ``auths`` still holds a (base64) password."""
    auths = section(document, "auths")
    return [
        host
        for host in ecr_registries(document)
        if any(auths[key] for key in _keys_for(auths, host))
    ]


def _keys_for(section: Mapping[str, Any], host: str) -> list[str]:
    """Keys of a section that name ``host`` in any form (``https://host``, ``host/v2/`` ...)."""
    return [key for key in section if protocol.hostname(key) == host]


def add(
    document: Mapping[str, Any], hosts: Iterable[str], keep_auths: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """``credHelpers`` entries naming ecrpy for ``hosts``, their ``auths`` entries moved out."""
    result: dict[str, Any] = json.loads(json.dumps(document))  # a deep copy, key order kept
    changes: list[str] = []
    for host in hosts:
        helpers = result.setdefault("credHelpers", {})
        if not isinstance(helpers, dict):
            raise DockerConfigError("credHelpers is not a JSON object; ecrpy will not touch it")
        previous = helpers.get(host)
        if previous != HELPER:
            helpers[host] = HELPER
            was = f" (was {previous})" if previous else ""
            changes.append(f"{host}: credHelpers -> ecrpy{was}")
        for key in [k for k in _keys_for(helpers, host) if k != host]:
            del helpers[key]  # another spelling of the same registry would shadow nothing
            changes.append(f"{host}: removed the duplicate credHelpers entry {key!r}")
        auths = section(result, "auths")
        if not keep_auths:
            for key in _keys_for(auths, host):
                saved = "a saved password" if auths[key] else "an empty entry"
                del auths[key]
                changes.append(f"{host}: removed {saved} from auths")
    return result, changes


def without_ecr_auths(document: Mapping[str, Any], hosts: Iterable[str]) -> dict[str, Any] | None:
    """The document minus the ``auths`` entries of ``hosts``; None when it has none of them."""
    auths = section(document, "auths")
    doomed = [key for host in hosts for key in _keys_for(auths, host)]
    if not doomed:
        return None
    result: dict[str, Any] = json.loads(json.dumps(document))
    for key in doomed:
        del result["auths"][key]
    return result


def remove(
    document: Mapping[str, Any], hosts: Iterable[str] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Undo :func:`add`: drop ecrpy's ``credHelpers`` entries (for ``hosts``, or all of them)."""
    result: dict[str, Any] = json.loads(json.dumps(document))
    helpers = section(result, "credHelpers")
    wanted = None if hosts is None else set(hosts)
    changes: list[str] = []
    for key in list(helpers):
        if helpers[key] == HELPER and (wanted is None or protocol.hostname(key) in wanted):
            del helpers[key]
            changes.append(f"{protocol.hostname(key)}: credHelpers entry for ecrpy removed")
    if "credHelpers" in result and not helpers:
        del result["credHelpers"]
    return result, changes


def read(path: str) -> tuple[str | None, int | None]:
    """The file's text and mode, or (None, None) when it does not exist.

    Read through :mod:`safefile` (a symlink is followed, as Docker follows it): a FIFO or device
    planted at the path is an error, never a ``configure`` or ``doctor`` that waits forever.
    """
    try:
        raw = safefile.read(path, follow=True)
        if raw is None:
            return None, None
        return raw.decode("utf-8"), os.stat(path).st_mode & 0o777
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise DockerConfigError(f"cannot read {path}: {reason}") from None


def write(path: str, text: str, old_text: str | None, mode: int | None) -> str | None:
    """Atomically replace the file (through a symlink, at its target); return the backup path.

    The backup (``config.json.bak``, one, overwritten each time) holds the previous content.
    """
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    mode = 0o600 if mode is None else mode
    backup = None
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if old_text is not None:
            backup = target + ".bak"
            safefile.write_atomic(backup, old_text.encode("utf-8"), mode)
        safefile.write_atomic(target, text.encode("utf-8"), mode)
    except OSError as exc:
        raise DockerConfigError(f"cannot write {target}: {exc.strerror}") from None
    return backup
