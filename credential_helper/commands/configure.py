"""``docker-credential-ecrpy configure``: put ecrpy in Docker's config, safely.

What users did by hand (open ``~/.docker/config.json``, guess the JSON, forget the base64 password
an old ``docker login`` left in ``auths``) becomes one command that shows what it changes, keeps
everything else, and can be undone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TextIO

from .. import config, docker_config, paths, protocol, registry
from ..errors import TokenUnavailable
from . import configure_store
from .common import PROGRAM, ask, diff, marks, not_ecr, path_warning


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROGRAM} configure",
        description="Make Docker use ecrpy for ECR registries (edits Docker's config.json).",
    )
    parser.add_argument(
        "registries",
        nargs="*",
        metavar="REGISTRY",
        help="registry hostname, alias from ecrpy's settings or image reference; "
        "none: the ECR registries already in the file",
    )
    parser.add_argument("--account", help="a 12-digit account id (with --region)")
    parser.add_argument("--region", help="the region of --account's registry")
    parser.add_argument("--public", action="store_true", help="also ECR Public (public.ecr.aws)")
    parser.add_argument(
        "--aliases", action="store_true", help="also every alias in ecrpy's settings ([aliases])"
    )
    parser.add_argument(
        "--keep-auths", action="store_true", help="leave saved passwords in auths where they are"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
    parser.add_argument("--remove", action="store_true", help="undo: remove ecrpy's entries")
    parser.add_argument(
        "--store",
        action="store_true",
        help="make ecrpy the credsStore: every ECR registry, and the store it replaces as the "
        "fallback for all others (with --remove: put back what was there)",
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask")
    return parser


def _wanted(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO) -> list[str] | None:
    """The registries named on the command line (an alias as ``host[:port]``), or None after
    printing why one is neither ECR nor an alias."""
    hosts: list[str] = []
    try:
        for reference in args.registries:
            found = registry.route(reference, environ)
            if found.registry is None:
                name = protocol.authority(reference)
                out.write(not_ecr(name or protocol.without_userinfo(reference)) + "\n")
                return None
            hosts.append(found.name)
        if args.aliases:
            hosts += [alias for alias, _ in config.load(environ).aliases]
    except TokenUnavailable as exc:  # a broken settings file
        out.write(f"ecrpy: {exc}\n")
        return None
    if args.account or args.region:
        named = registry.private_host(args.account or "", args.region or "")
        if named is None:
            out.write("ecrpy: --account needs 12 digits and --region a region such as us-east-1\n")
            return None
        hosts.append(named)
    if args.public:
        hosts.append("public.ecr.aws")
    return list(dict.fromkeys(hosts))


def _confirm(hosts: list[str], args: argparse.Namespace, out: TextIO, stdin: TextIO) -> bool:
    out.write("ECR registries found in the Docker config:\n")
    out.write("".join(f"  {host}\n" for host in hosts))
    if args.yes or args.dry_run:
        return True
    if not stdin.isatty():
        out.write("ecrpy: not a terminal: run again with --yes to configure these\n")
        return False
    return ask(f"Let ecrpy serve these {len(hosts)} registries?", out, stdin)


def run(
    argv: list[str],
    environ: Mapping[str, str],
    out: TextIO = sys.stdout,
    stdin: TextIO = sys.stdin,
) -> int:
    args = _parser().parse_args(argv)
    if args.store:
        if args.registries or args.account or args.region or args.public:
            out.write(
                "ecrpy: --store takes no registries: as credsStore, ecrpy serves every ECR "
                "registry\n"
            )
            return 1
        return configure_store.run(args, environ, out, stdin)
    hosts = _wanted(args, environ, out)
    if hosts is None:
        return 1
    path = paths.docker_config(environ)
    try:
        old_text, mode = docker_config.read(path)
        document = docker_config.parse(old_text or "", path)
        if args.remove:
            new, changes = docker_config.remove(document, hosts or None)
        else:
            if not hosts:
                hosts = docker_config.ecr_registries(document)
                if not hosts:
                    out.write(
                        f"No ECR registry in {path} yet: name one, e.g. {PROGRAM} configure "
                        "123456789012.dkr.ecr.us-east-1.amazonaws.com\n"
                    )
                    return 1
                if not _confirm(hosts, args, out, stdin):
                    return 1
            new, changes = docker_config.add(document, hosts, keep_auths=args.keep_auths)
        new_text = docker_config.render(new)
        if not changes:
            out.write(f"Nothing to change in {path}: already configured.\n")
        elif args.dry_run:
            out.writelines(diff(old_text, new_text, path))
        else:
            # The backup must not keep the passwords just moved out: no plaintext token on disk.
            scrubbed = docker_config.without_ecr_auths(document, hosts) if not args.remove else None
            previous = docker_config.render(scrubbed) if scrubbed is not None else old_text
            backup = docker_config.write(path, new_text, previous, mode)
            out.writelines(f"{marks(out)[True]} {change}\n" for change in changes)
            note = ", without ECR passwords" if scrubbed is not None else ""
            kept = f" (previous version{note}: {backup})" if backup else ""
            out.write(f"Wrote {path}{kept}\n")
    except docker_config.DockerConfigError as exc:
        out.write(f"ecrpy: {exc}\n")
        return 1
    warning = None if args.remove else path_warning(environ)
    if warning:
        out.write(warning + "\n")
    return 0
