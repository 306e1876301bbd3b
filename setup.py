"""The one thing pyproject.toml cannot say: Windows gets ``docker-credential-ecrpy.exe``.

Docker finds a credential helper with Go's ``exec.LookPath``, which on Windows tries only the
names PATHEXT lists (``.exe``, ``.bat``, ...): the extensionless wheel script that Linux and macOS
run (``scripts/docker-credential-ecrpy``, the fast path: no installer-generated wrapper) is never
found there. An installer writes an ``.exe`` launcher for a ``console_scripts`` entry point only,
and pip drops a wheel script whose name equals an entry point's, so one wheel cannot carry both.

So a wheel built for a Windows platform (``--plat-name win_amd64`` or ``win_arm64``, or any wheel
built on Windows from the sdist) is tagged ``py3-none-<platform>`` and carries the entry point
instead of the script; pip and pipx on Windows prefer it to the ``py3-none-any`` wheel, which
keeps the script. ``tools/build_dist.py`` builds all three. On Windows the metadata says so too
(``egg_info``): pip prepares it before the wheel, and the wheel reuses it.
"""

from __future__ import annotations

import sys

from setuptools import Distribution, setup
from setuptools.command.bdist_wheel import bdist_wheel, get_platform
from setuptools.command.egg_info import egg_info

SCRIPT = "docker-credential-ecrpy"
ENTRY_POINT = f"{SCRIPT} = credential_helper.cli:exit_main"


def use_entry_point(distribution: Distribution) -> None:
    distribution.scripts = []
    distribution.entry_points = {"console_scripts": [ENTRY_POINT]}


class PlatformWheel(bdist_wheel):  # type: ignore[misc]
    """``bdist_wheel`` that swaps the script for an entry point when the wheel is for Windows."""

    def _windows_platform(self) -> str | None:
        if self.plat_name_supplied:
            name = str(self.plat_name)
            return name if name.startswith("win") else None
        return get_platform(None) if sys.platform == "win32" else None

    def finalize_options(self) -> None:
        super().finalize_options()
        if self._windows_platform():
            use_entry_point(self.distribution)

    def get_tag(self) -> tuple[str, str, str]:
        platform = self._windows_platform()
        if platform:
            return "py3", "none", platform.replace("-", "_").replace(".", "_")
        tag: tuple[str, str, str] = super().get_tag()
        return tag


class PlatformMetadata(egg_info):  # type: ignore[misc]
    """``egg_info`` (behind ``dist_info``, pip's metadata step): the entry point on Windows."""

    def finalize_options(self) -> None:
        if sys.platform == "win32":
            use_entry_point(self.distribution)
        super().finalize_options()


setup(cmdclass={"bdist_wheel": PlatformWheel, "egg_info": PlatformMetadata})
