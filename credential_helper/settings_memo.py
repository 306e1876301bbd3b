"""The ``[store] fallback`` of ecrpy's settings, remembered by the digest of the file's bytes.

A request for a registry that is not ECR must know the fallback, and parsing TOML costs more
than a whole warm ``get`` (``tomllib`` imports ``re``, ``typing``, ``datetime``; ``config``
imports ``typing``). The answer only depends on the file's bytes, so once :mod:`config` has
parsed them the fallback is written to a one-line file named by their SHA-256, in ecrpy's own
private directory; the next request with the same bytes reads that instead. Edit the file and
the digest changes: the memo is never stale. A memo that is missing, unreadable, or not in a
private directory of this user is a miss (the file is parsed again), never an error.
"""

from __future__ import annotations

import os

from . import safefile

PREFIX = "store-settings."
_NONE = "ecrpy"  # "no fallback, ecrpy's own store": the one name config never takes as a fallback


def digest(raw: bytes, path: str) -> str:
    from .identity import fingerprint

    return fingerprint((), [(path, raw)])


def recall(directory: str, key: str) -> tuple[bool, str | None]:
    """(found, fallback) for the settings bytes of digest ``key``."""
    if safefile.private_dir(directory) is not None:
        return False, None
    try:  # this user's regular file, not followed, never a FIFO (safefile)
        raw = safefile.read(os.path.join(directory, PREFIX + key), 256, mine=True)
    except OSError:
        return False, None
    text = (raw or b"").decode("utf-8", "replace").strip()
    if not text or len(raw or b"") > 256:
        return False, None
    return True, None if text == _NONE else text


def remember(directory: str, key: str, fallback: str | None) -> None:
    """Write the memo for ``key`` and drop the others; best effort (a failure is a later miss)."""
    if safefile.private_dir(directory, create=True) is not None:
        return
    try:
        data = (fallback or _NONE).encode() + b"\n"
        safefile.write_atomic(os.path.join(directory, PREFIX + key), data, 0o600)
        for name in os.listdir(directory):
            if name.startswith(PREFIX) and name != PREFIX + key:
                os.unlink(os.path.join(directory, name))
    except OSError:
        return
