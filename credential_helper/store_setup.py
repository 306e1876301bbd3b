"""``configure --store``: the plan that makes ecrpy Docker's ``credsStore``, and its exact undo.

Pure functions (documents and texts in, documents, texts and change lines out); the command in
``commands/configure.py`` reads and writes the files. Switching over:

- ``credsStore`` becomes ``ecrpy``; the store it replaces becomes ``[store] fallback`` in
  ecrpy's settings, so every registry that is not ECR keeps its logins where they were;
- ``credHelpers`` entries for ECR registries are offered for removal (the store covers them;
  the ones that stay keep working and win, as Docker defines);
- ECR passwords that an old ``docker login`` left in ``auths`` are moved out.

What was changed is kept in an undo record, so ``configure --remove --store`` puts back exactly
what was there (except the ECR passwords, which are expired by now anyway).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import config, docker_config, protocol, registry

UNDO_VERSION = 1
# Stores that keep no logins of other registries: ecrpy replaces them and keeps those itself.
NOT_A_FALLBACK = frozenset({docker_config.HELPER, "ecr-login"})


class SetupError(Exception):
    """The switch cannot be planned as asked; the message says why and what to do."""


def _copy(document: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(document))  # a deep copy, key order kept
    return result


def covered_helpers(document: Mapping[str, Any]) -> dict[str, str]:
    """``credHelpers`` entries for ECR registries: what ecrpy as ``credsStore`` serves anyway."""
    helpers = docker_config.section(document, "credHelpers")
    return {
        key: value
        for key, value in helpers.items()
        if registry.parse(protocol.hostname(key)) is not None and isinstance(value, str)
    }


def fallback_for(previous: object) -> str | None:
    """The fallback that keeps the logins the replaced ``credsStore`` kept, if it kept any."""
    if not isinstance(previous, str) or not previous or previous in NOT_A_FALLBACK:
        return None
    if not set(previous) <= config.HELPER_NAME_CHARS:
        raise SetupError(
            f"credsStore {previous!r} is not a credential helper's name ecrpy can run as its "
            "fallback; ecrpy will not touch it"
        )
    return previous


def switch(
    document: Mapping[str, Any], drop: Mapping[str, str], keep_auths: bool
) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """(the new document, change lines, the undo record) for making ecrpy the ``credsStore``.

    ``drop`` are the ``credHelpers`` entries to remove (from :func:`covered_helpers`).
    """
    result = _copy(document)
    changes: list[str] = []
    previous = document.get("credsStore")
    if previous is not None and not isinstance(previous, str):
        raise SetupError("credsStore is not a string; ecrpy will not touch it")
    undo: dict[str, Any] = {
        "version": UNDO_VERSION,
        "credsStore": previous,
        "credHelpers": {},
        "order": list(docker_config.section(document, "credHelpers")),
    }
    if previous != docker_config.HELPER:
        result["credsStore"] = docker_config.HELPER
        if previous in NOT_A_FALLBACK:
            was = f" (was {previous}, which keeps no other logins: ecrpy's own store will)"
        else:
            was = f" (was {previous}, now ecrpy's fallback)" if previous else ""
        changes.append(f"credsStore -> ecrpy{was}")
    helpers = docker_config.section(result, "credHelpers")
    for key, value in drop.items():
        if helpers.get(key) == value:
            del helpers[key]
            undo["credHelpers"][key] = value
            changes.append(f"{protocol.hostname(key)}: credHelpers entry ({value}) removed")
    if "credHelpers" in result and not helpers and drop:
        del result["credHelpers"]
    if not keep_auths:
        hosts = docker_config.ecr_registries(document)
        auths = docker_config.section(result, "auths")
        for key in [k for k in auths if protocol.hostname(k) in hosts]:
            saved = "a saved password" if auths[key] else "an empty entry"
            del auths[key]
            changes.append(f"{protocol.hostname(key)}: removed {saved} from auths")
    return result, changes, undo


def restore(
    document: Mapping[str, Any], undo: Mapping[str, Any] | None, fallback: str | None
) -> tuple[dict[str, Any], list[str]]:
    """Undo :func:`switch`: the ``credsStore`` and ``credHelpers`` entries that were there.

    Without an undo record (the switch was made by hand), the fallback is the best guess of
    what ``credsStore`` was.
    """
    result = _copy(document)
    changes: list[str] = []
    if undo is not None:
        previous = undo.get("credsStore")
        dropped = undo.get("credHelpers") or {}
    else:
        previous, dropped = fallback, {}
    if result.get("credsStore") == docker_config.HELPER:
        if isinstance(previous, str) and previous != docker_config.HELPER:
            result["credsStore"] = previous
            changes.append(f"credsStore -> {previous} (back from ecrpy)")
        else:
            del result["credsStore"]
            changes.append("credsStore ecrpy removed (there was none before)")
    if dropped:
        helpers = result.setdefault("credHelpers", {})
        if not isinstance(helpers, dict):
            raise SetupError("credHelpers is not a JSON object; ecrpy will not touch it")
        for key, value in dropped.items():
            if key not in helpers:
                helpers[key] = value
                changes.append(f"{protocol.hostname(key)}: credHelpers entry ({value}) put back")
        order = [key for key in (undo or {}).get("order") or [] if key in helpers]
        ordered = {key: helpers[key] for key in (*order, *helpers)}
        helpers.clear()
        helpers.update(ordered)  # where they were, not at the end
    return result, changes


def fallback_block(name: str) -> str:
    """The lines ``configure --store`` appends to ecrpy's settings file."""
    return f'\n[store]\nfallback = "{name}"  # added by configure --store\n'


def with_fallback(text: str | None, current: str | None, name: str | None) -> str | None:
    """The settings text with ``[store] fallback = name``; None when nothing needs to change.

    ``current`` is the fallback the file names now (parsed by :mod:`config`).
    """
    if name is None or current == name:
        return None
    if current is not None:
        raise SetupError(
            f"ecrpy's settings already name the fallback store {current!r}, and credsStore is "
            f"{name!r}: decide which keeps your logins, set it as [store] fallback, and run "
            "configure --store again"
        )
    if text is not None and "[store]" in text:
        raise SetupError(
            "ecrpy's settings have a [store] table without a fallback: add "
            f'fallback = "{name}" to it by hand, or remove it, and run configure --store again'
        )
    base = text or ""
    if base and not base.endswith("\n"):
        base += "\n"
    return base + fallback_block(name).lstrip("\n" if not base else "")


def without_fallback(text: str, name: str) -> str | None:
    """The settings text without the block :func:`with_fallback` added; None if it is gone."""
    for block in (fallback_block(name), fallback_block(name).lstrip("\n")):
        if block in text:
            return text.replace(block, "", 1)
    return None


def plain_logins(document: Mapping[str, Any]) -> list[str]:
    """Registries (not ECR) with a password in ``auths``: Docker stops reading those once a
    ``credsStore`` is set, so they need a ``docker login`` again (which goes to the store)."""
    auths = docker_config.section(document, "auths")
    return [
        protocol.hostname(key)
        for key, value in auths.items()
        if isinstance(value, dict)
        and value.get("auth")
        and registry.parse(protocol.hostname(key)) is None
    ]
