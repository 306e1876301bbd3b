"""Only the warm modules keep the start-up habits; every other module is ordinary Python.

The habits (types under ``TYPE_CHECKING = False``, no ``from __future__`` on the ECR path,
siblings imported inside functions) cost readability and are worth it only where a warm ``get``
pays for every import: the modules ``tests/startup.py`` declares warm, which the import tests
check against real processes. A cold module that copies them gains nothing; a warm one that
drops them makes every ``docker pull`` slower.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.startup import ECR_GET, WARM_MODULES

PACKAGE = Path(__file__).resolve().parent.parent / "credential_helper"


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(), str(path))
    return found


def typing_trick(tree: ast.Module) -> bool:
    """``TYPE_CHECKING = False`` at module level: typing's constant without importing typing."""
    return any(
        isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "TYPE_CHECKING" for t in node.targets)
        for node in tree.body
    )


def future_import(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom) and node.module == "__future__" for node in tree.body
    )


# botocore's own weight: imported when a client is made, never by importing the module that uses it
BOTOCORE = ("loader",)


def sibling_imports_inside_functions(tree: ast.Module) -> list[str]:
    """The package's own modules imported inside a function (``from . import x`` and kin)."""
    found = []
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and node.level and node.module not in BOTOCORE:
                    found.append(f"{function.name}: from {'.' * node.level}{node.module or ''}")
    return found


def test_the_declared_warm_modules_exist() -> None:
    assert set(WARM_MODULES) <= set(modules())


@pytest.mark.parametrize("name", sorted(set(modules()) - set(WARM_MODULES)))
def test_a_cold_module_imports_like_ordinary_python(name: str) -> None:
    tree = modules()[name]
    assert not typing_trick(tree), f"{name} is cold: import typing, not TYPE_CHECKING = False"
    assert sibling_imports_inside_functions(tree) == []


@pytest.mark.parametrize("name", ECR_GET)
def test_a_module_of_the_warm_ecr_get_imports_no_future(name: str) -> None:
    assert not future_import(modules()[name])
