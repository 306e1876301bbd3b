"""``configure --store`` and ``configure --remove --store``: the files side of :mod:`store_setup`.

Part of the ``configure`` command (not a command of its own). Writes ecrpy's settings first and
Docker's config second, so that when Docker starts sending other registries to ecrpy, the
fallback that must answer them is already named. The undo record (what ``credsStore`` was,
which ``credHelpers`` entries were dropped, whether the fallback line was added) sits beside
ecrpy's own store, holds no secret, and is what ``--remove --store`` puts back.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from typing import Any, TextIO

from .. import config, docker_config, fallback, identity, paths, safefile, store_setup
from .common import ask, diff, marks, path_warning


def _undo_path(environ: Mapping[str, str]) -> str | None:
    return paths.undo_record(environ)


def _undo_records(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(safefile.read(path, mine=True) or b"{}")
    except (OSError, ValueError):
        return {}
    records = data.get("configs") if isinstance(data, dict) else None
    return records if isinstance(records, dict) else {}


def _save_undo(path: str | None, records: Mapping[str, Any]) -> None:
    if path is None:
        return
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    text = json.dumps({"version": store_setup.UNDO_VERSION, "configs": records}, indent=2)
    safefile.write_atomic(path, (text + "\n").encode("utf-8"), 0o600)


def _ask_drop(
    covered: dict[str, str], args: argparse.Namespace, out: TextIO, stdin: TextIO
) -> dict[str, str]:
    """The covered ``credHelpers`` entries the user lets go (all with --yes or --dry-run)."""
    if not covered:
        return {}
    out.write("credHelpers entries that ecrpy as credsStore covers:\n")
    out.writelines(f"  {key}: {value}\n" for key, value in covered.items())
    if args.yes or args.dry_run:
        return covered
    if not stdin.isatty():
        out.write("Kept them (they keep working and win over credsStore); --yes drops them.\n")
        return {}
    return covered if ask(f"Remove these {len(covered)} entries?", out, stdin) else {}


def run(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, stdin: TextIO) -> int:
    path = paths.docker_config(environ)
    settings_path = paths.settings_file(environ)
    undo_path = _undo_path(environ)
    try:
        old_text, mode = docker_config.read(path)
        document = docker_config.parse(old_text or "", path)
        loaded = config.load(environ)
        settings_text = identity.read_file(settings_path)
        old_settings = settings_text.decode("utf-8") if settings_text is not None else None
        records = _undo_records(undo_path)
        if args.remove:
            plan = _plan_remove(document, loaded, old_settings, records.get(path))
        else:
            plan = _plan_switch(document, loaded, old_settings, records.get(path), args, out, stdin)
    except (
        docker_config.DockerConfigError,
        config.ConfigError,
        store_setup.SetupError,
        UnicodeDecodeError,
    ) as exc:
        out.write(f"ecrpy: {exc}\n")
        return 1
    new_document, new_settings, changes, record = plan
    new_text = docker_config.render(new_document)
    if not changes:
        out.write(f"Nothing to change in {path}: already configured.\n")
        return 0
    if args.dry_run:
        if new_settings is not None:
            out.writelines(diff(old_settings, new_settings, settings_path))
        if new_text != (old_text or ""):
            out.writelines(diff(old_text, new_text, path))
        return 0
    try:
        if new_settings is not None and not new_settings.strip():
            os.unlink(settings_path)  # it held only what --store added: no file, as before
        elif new_settings is not None:
            os.makedirs(os.path.dirname(settings_path), mode=0o700, exist_ok=True)
            safefile.write_atomic(settings_path, new_settings.encode("utf-8"), 0o600)
        scrubbed = docker_config.without_ecr_auths(document, docker_config.ecr_registries(document))
        previous = docker_config.render(scrubbed) if scrubbed is not None else old_text
        if new_text != (old_text or ""):
            backup = docker_config.write(path, new_text, previous, mode)
        else:
            backup = None
        if record is not None:
            records[path] = record
        else:
            records.pop(path, None)
        _save_undo(undo_path, records)
    except (OSError, docker_config.DockerConfigError) as exc:
        out.write(f"ecrpy: {exc}\n")
        return 1
    out.writelines(f"{marks(out)[True]} {change}\n" for change in changes)
    kept = f" (previous version: {backup})" if backup else ""
    out.write(f"Wrote {path}{kept}\n")
    if not args.remove:
        _warnings(new_document, document, environ, out)
    return 0


Plan = tuple[dict[str, Any], "str | None", list[str], "dict[str, Any] | None"]


def _plan_switch(
    document: dict[str, Any],
    loaded: config.Config,
    old_settings: str | None,
    record: dict[str, Any] | None,
    args: argparse.Namespace,
    out: TextIO,
    stdin: TextIO,
) -> Plan:
    name = store_setup.fallback_for(document.get("credsStore"))
    new_settings = store_setup.with_fallback(old_settings, loaded.fallback, name)
    drop = _ask_drop(store_setup.covered_helpers(document), args, out, stdin)
    new_document, changes, undo = store_setup.switch(document, drop, args.keep_auths)
    if new_settings is not None:
        changes.insert(0, f'{loaded.path}: [store] fallback = "{name}"')
    undo["fallback_added"] = name if new_settings is not None else None
    if record is not None:  # switched before: what was there first is what --remove restores
        undo["credsStore"] = record.get("credsStore")
        undo["credHelpers"] = {**undo["credHelpers"], **(record.get("credHelpers") or {})}
        undo["order"] = record.get("order") or undo["order"]
        undo["fallback_added"] = record.get("fallback_added") or undo["fallback_added"]
    return new_document, new_settings, changes, undo


def _plan_remove(
    document: dict[str, Any],
    loaded: config.Config,
    old_settings: str | None,
    record: dict[str, Any] | None,
) -> Plan:
    new_document, changes = store_setup.restore(document, record, loaded.fallback)
    added = record.get("fallback_added") if record else None
    new_settings = None
    if isinstance(added, str) and old_settings is not None:
        new_settings = store_setup.without_fallback(old_settings, added)
        if new_settings is not None:
            changes.append(f'{loaded.path}: [store] fallback = "{added}" removed')
    return new_document, new_settings, changes, None


def _warnings(
    new_document: Mapping[str, Any],
    old_document: Mapping[str, Any],
    environ: Mapping[str, str],
    out: TextIO,
) -> None:
    previous = store_setup.fallback_for(old_document.get("credsStore"))
    if previous is not None and fallback.find(previous, environ) is None:
        out.write(
            f"warning: the fallback store {fallback.program(previous)} is not on PATH: "
            "logins to registries that are not ECR fail until it is\n"
        )
    plain = store_setup.plain_logins(new_document)
    if plain:
        out.write(
            f"warning: auths still holds passwords for {', '.join(plain)}, which Docker no "
            "longer reads with a credsStore: docker login to them again (the login then goes "
            "to the store)\n"
        )
    warning = path_warning(environ)
    if warning:
        out.write(warning + "\n")
