"""``make dist``'s checks of the built artefacts, beyond ``twine check``.

- One sdist and three wheels (``tools/build_dist.py``): ``py3-none-any`` with the wheel script
  ``docker-credential-ecrpy``, and ``py3-none-win_amd64`` / ``py3-none-win_arm64`` with a
  ``console_scripts`` entry point instead (the ``.exe`` Docker finds on Windows) and no script.
- Each wheel holds the package and its metadata only: no tests, fakes, benchmarks or docs
  sources (they belong in the sdist, which is a source release); the three hold the same package,
  byte for byte.
- Their metadata names the licence as an SPDX expression, and the project URLs.
- The ``any`` wheel installed with ``pipx install`` into a scratch pipx home, exactly as a user
  would, passes the same smoke test as the checkout: ``make demo`` against the fake ECR, plus
  ``version`` and ``--help``. (The Windows wheels are installed and run under wine by
  tests/windows.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

PACKAGE = "credential_helper/"
SCRIPT = "docker-credential-ecrpy"
ENTRY_POINT = f"{SCRIPT} = credential_helper.cli:exit_main"
PLATFORMS = ("any", "win_amd64", "win_arm64")


def fail(message: str) -> None:
    sys.exit(f"check_dist: {message}")


def check_wheel(wheel: Path) -> dict[str, bytes]:
    """Check one wheel; its package files (name: bytes), to compare with the other wheels'."""
    windows = not wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
        if info is None:
            fail(f"{wheel.name} has no METADATA")
        metadata = Parser().parsestr(archive.read(info).decode("utf-8"))
        entry_points = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), "")
        scripts = archive.read(entry_points).decode() if entry_points else ""
        package = {n: archive.read(n) for n in names if n.startswith(PACKAGE)}
    stray = [
        n
        for n in names
        if not n.startswith(PACKAGE) and ".dist-info/" not in n and ".data/scripts/" not in n
    ]
    if stray:
        fail(f"{wheel.name} holds files outside the package: {', '.join(sorted(stray)[:10])}")
    if not any(n.startswith(PACKAGE + "commands/") for n in names):
        fail(f"{wheel.name} lacks credential_helper/commands/")
    data_scripts = [n for n in names if ".data/scripts/" in n]
    if windows and (ENTRY_POINT not in scripts.splitlines() or data_scripts):
        # pip drops a data script named as an entry point; an extensionless one LookPath skips
        fail(f"{wheel.name} must install {SCRIPT}.exe: the entry point {ENTRY_POINT!r}, no script")
    if not windows and (scripts or [n.rsplit("/", 1)[1] for n in data_scripts] != [SCRIPT]):
        fail(f"{wheel.name} must install the script {SCRIPT} and no entry point")
    if metadata.get("License-Expression") != "Apache-2.0":
        fail(f"{wheel.name}: License-Expression is {metadata.get('License-Expression')!r}")
    urls = {value.split(",")[0] for value in metadata.get_all("Project-URL") or []}
    missing = {"Homepage", "Documentation", "Issues", "Changelog"} - urls
    if missing:
        fail(f"{wheel.name}: no Project-URL for {', '.join(sorted(missing))}")
    print(f"check_dist: {wheel.name}: {len(names)} files, package and metadata only")
    return package


def smoke(wheel: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="ecrpy-dist-") as scratch:
        env = {
            **os.environ,
            "PIPX_HOME": f"{scratch}/pipx",
            "PIPX_BIN_DIR": f"{scratch}/bin",
            "PIPX_MAN_DIR": f"{scratch}/man",
        }
        subprocess.run(
            ["pipx", "install", "--python", sys.executable, str(wheel.resolve())],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        helper = f"{scratch}/bin/{SCRIPT}"
        version = subprocess.run([helper, "version"], capture_output=True, text=True, check=True)
        print(f"check_dist: pipx-installed wheel: {version.stdout.strip()}")
        subprocess.run([helper, "--help"], capture_output=True, check=True)
        subprocess.run([sys.executable, "-m", "fakeaws.demo", "--helper", helper], check=True)


def main(argv: list[str]) -> int:
    dist = Path(argv[1] if len(argv) > 1 else "dist")
    wheels = {p: w for p in PLATFORMS for w in dist.glob(f"ecrpy-*-py3-none-{p}.whl")}
    sdists = sorted(dist.glob("ecrpy-*.tar.gz"))
    found = sorted(dist.glob("ecrpy-*.whl")) + sdists
    if len(wheels) != len(PLATFORMS) or len(found) != len(PLATFORMS) + 1:
        fail(f"expected one sdist and the wheels {', '.join(PLATFORMS)} in {dist}, found {found}")
    packages = {platform: check_wheel(wheel) for platform, wheel in wheels.items()}
    if any(package != packages["any"] for package in packages.values()):
        fail("the wheels do not hold the same package files")
    smoke(wheels["any"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
