"""What more than one tool needs: names, wordings, the PATH advice, prompts, diffs and marks.

One home for each, so that ``configure``, ``doctor``, ``whoami``, ``export`` and ``login`` say
the same thing the same way, and no tool imports another tool for it. Tools print for a person
on any console: the check marks fall back to ASCII where the console's encoding has no ✔ (a
Windows console or pipe in cp1252), and a fix to type is written in that system's shell words.
"""

from __future__ import annotations

import datetime
import difflib
import os
import shutil
import sys
from collections.abc import Mapping
from typing import TextIO

from ..protocol import one_line

PROGRAM = "docker-credential-ecrpy"

# A check's mark: passed, failed, not made.
UNICODE_MARKS = {True: "✔", False: "✗", None: "–"}  # noqa: RUF001 (an en dash: "not made")
ASCII_MARKS = {True: "ok", False: "FAIL", None: "--"}


def marks(out: TextIO) -> dict[bool | None, str]:
    """The marks ``out`` can print: the symbols where its encoding has them, else ASCII words."""
    encoding = getattr(out, "encoding", None) or "utf-8"
    try:
        "".join(UNICODE_MARKS.values()).encode(encoding)
    except (UnicodeError, LookupError):
        return ASCII_MARKS
    return UNICODE_MARKS


def not_ecr(name: str) -> str:
    """The one wording every tool uses for a name that is neither an ECR registry nor an alias."""
    return f"ecrpy: {not_ecr_reason(name)}"


def not_ecr_reason(name: str) -> str:
    """:func:`not_ecr` without the prefix, for a tool that adds its own."""
    return f"{one_line(name)} is not an Amazon ECR registry nor an alias in ecrpy's settings"


def when(epoch: float) -> str:
    """A moment as the tools print it: UTC, to the second."""
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def path_fix(environ: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """What to do so that Docker finds the helper by name; None when it already would."""
    if shutil.which(PROGRAM, path=environ.get("PATH")):
        return None
    here = os.path.dirname(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else ""
    if not here:
        return "run `pipx ensurepath`, or add the helper's directory to PATH"
    return f"add its directory to PATH: `{prepend_path(here, platform)}` (or `pipx ensurepath`)"


def prepend_path(directory: str, platform: str = sys.platform) -> str:
    """The command that puts ``directory`` first on PATH, in the words of the system's shell:
    PowerShell on Windows, a POSIX shell elsewhere."""
    if platform == "win32":
        return f'$env:Path = "{directory};$env:Path"'
    return f'export PATH="{directory}:$PATH"'


def path_warning(environ: Mapping[str, str]) -> str | None:
    """Why Docker would not find the helper, and how to fix it; None when it would."""
    fix = path_fix(environ)
    if fix is None:
        return None
    return f"warning: {PROGRAM} is not on your PATH, and Docker runs it by that name: {fix}"


def ask(question: str, out: TextIO, stdin: TextIO) -> bool:
    """A yes/no question on the terminal; Enter means yes."""
    out.write(f"{question} [Y/n] ")
    out.flush()
    return stdin.readline().strip().lower() in ("", "y", "yes")


def diff(old: str | None, new: str, path: str) -> list[str]:
    """A unified diff of a file's text before and after, as ``--dry-run`` shows it."""
    return list(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=path,
            tofile=f"{path} (after)",
        )
    )
