"""Real ECR hostnames on loopback, without touching the machine's ``/etc/hosts``.

Clients that cannot be pointed at an endpoint URL (Docker's daemon, skopeo, the Go helper) must
reach the fake registry and the fake ECR API by the names they would use against AWS. The
command runs in a private mount namespace (``unshare --mount``, root) where a hosts file of
ours is bind-mounted over ``/etc/hosts``; the machine's own file is never changed, and the
mapping disappears with the namespace.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence

_ENTER = 'mount --bind "$0" /etc/hosts && exec "$@"'


def available() -> str | None:
    """None when private hosts work here, else the reason they do not."""
    if os.geteuid() != 0:
        return "private /etc/hosts needs root (unshare --mount)"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    return None


def write_hosts(path: str, names: Mapping[str, str]) -> str:
    """A hosts file: the machine's own lines, then ``address name`` for each mapping."""
    try:
        with open("/etc/hosts", encoding="utf-8") as handle:
            base = handle.read()
    except OSError:
        base = "127.0.0.1 localhost\n"
    lines = [f"{address} {name}" for name, address in names.items()]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(base.rstrip("\n") + "\n" + "\n".join(lines) + "\n")
    return path


def command(hosts_file: str, argv: Sequence[str]) -> list[str]:
    """``argv`` wrapped so that it (and every child) resolves names through ``hosts_file``."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _ENTER, hosts_file, *argv]
