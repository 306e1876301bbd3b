"""The warm path, declared once: the modules a warm ``get`` may import, and what they must not.

A warm ``get`` of an ECR registry imports the first group; a ``get`` of another registry with
ecrpy as Docker's credsStore (served from its own store or the fallback) adds the second. Only
these modules keep the start-up habits docs/architecture.md explains (no ``from __future__``
on the ECR path, types under ``TYPE_CHECKING = False``, heavy imports inside functions); every
other module is cold and imports like ordinary Python. ``tests/test_cli.py``,
``tests/test_entry_point.py``, ``tests/test_store_mode.py`` and ``tests/test_startup.py`` check
real processes and the sources against this one list.
"""

from __future__ import annotations

ECR_GET = (
    "credential_helper",
    "credential_helper.cli",
    "credential_helper.log",
    "credential_helper.jsonlite",
    "credential_helper.protocol",
    "credential_helper.safefile",
    "credential_helper.paths",
    "credential_helper.cache",
    "credential_helper.registry",
    "credential_helper.regions",
    "credential_helper.identity",
)
WARM_MODULES = (
    *ECR_GET,
    # a credsStore get of a registry that is not ECR
    "credential_helper.aliases",
    "credential_helper.store_mode",
    "credential_helper.login_store",
    "credential_helper.settings_memo",
    "credential_helper.fallback",
    "credential_helper.deadline",
    "credential_helper.errors",
)
# What a warm get of an ECR registry must not import (the interpreter's own start-up imports
# none of them): each costs milliseconds, or opens the door to the AWS SDK.
FORBIDDEN = (
    "__future__",
    "re",
    "typing",
    "json",
    "logging",
    "threading",
    "signal",
    "hashlib",
    "socket",
    "ssl",
    "urllib3",
    "cachetools",
    "botocore",
    "boto3",
)


def ecrpy_modules(names: object) -> list[str]:
    """The ecrpy modules among ``names`` that are not declared warm (sorted; [] when all are)."""
    assert isinstance(names, (list, set, tuple, frozenset))
    return sorted(
        name
        for name in names
        if str(name).split(".")[0] == "credential_helper" and name not in WARM_MODULES
    )
