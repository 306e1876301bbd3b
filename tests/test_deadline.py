"""deadline.Deadline, the one alarm of ``get``, ``doctor`` and ``kubelet-provider``.

Each case runs in a process of its own: the alarm is a signal of the main thread.
"""

from __future__ import annotations

import subprocess
import sys

SWALLOWED = """
import time
from credential_helper.deadline import Deadline
with Deadline(0.2, "doing something slow", "a hint"):
    while True:  # a library that swallows everything, the alarm included
        try:
            time.sleep(30)
        except BaseException:
            pass
"""

RAISED = """
import time
from credential_helper.deadline import Deadline
from credential_helper.errors import TokenUnavailable
try:
    with Deadline(0.2, "doing something slow", "a hint"):
        time.sleep(30)
except TokenUnavailable as exc:
    print(exc.kind, exc)
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_alarm_becomes_a_token_unavailable_naming_what_ran_out() -> None:
    result = _run(RAISED)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "network gave up after 0.2 s doing something slow (no answer in time; a hint)\n"
    )


def test_a_swallowed_alarm_still_ends_the_process_in_one_line() -> None:
    """The second ring (GRACE seconds later) exits: the bound holds whatever runs inside."""
    result = _run(SWALLOWED)
    assert result.returncode == 1
    assert result.stderr == (
        "ecrpy: gave up after 0.2 s doing something slow (no answer in time; a hint)\n"
    )
