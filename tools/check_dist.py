"""``make dist``'s checks of the built artefacts, beyond ``twine check``.

- The wheel holds the package and its metadata only: no tests, fakes, benchmarks or docs
  sources (they belong in the sdist, which is a source release).
- Its metadata names the console script, the licence as an SPDX expression, and the project URLs.
- Installed with ``pipx install dist/*.whl`` into a scratch pipx home, exactly as a user would, it
  passes the same smoke test as the checkout: ``make demo`` against the fake ECR, plus ``version``
  and ``--help``.
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


def fail(message: str) -> None:
    sys.exit(f"check_dist: {message}")


def check_wheel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next((n for n in names if n.endswith(".dist-info/METADATA")), None)
        if info is None:
            fail(f"{wheel.name} has no METADATA")
        metadata = Parser().parsestr(archive.read(info).decode("utf-8"))
        entry_points = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), "")
        scripts = archive.read(entry_points).decode() if entry_points else ""
    stray = [
        n
        for n in names
        if not n.startswith(PACKAGE) and ".dist-info/" not in n and ".data/scripts/" not in n
    ]
    if stray:
        fail(f"{wheel.name} holds files outside the package: {', '.join(sorted(stray)[:10])}")
    if not any(n.startswith(PACKAGE + "commands/") for n in names):
        fail(f"{wheel.name} lacks credential_helper/commands/")
    if SCRIPT not in scripts and not any(n.endswith(f".data/scripts/{SCRIPT}") for n in names):
        fail(f"{wheel.name} installs no {SCRIPT}")
    if metadata.get("License-Expression") != "Apache-2.0":
        fail(f"{wheel.name}: License-Expression is {metadata.get('License-Expression')!r}")
    urls = {value.split(",")[0] for value in metadata.get_all("Project-URL") or []}
    missing = {"Homepage", "Documentation", "Issues", "Changelog"} - urls
    if missing:
        fail(f"{wheel.name}: no Project-URL for {', '.join(sorted(missing))}")
    print(f"check_dist: {wheel.name}: {len(names)} files, package and metadata only")


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
    wheels = sorted(dist.glob("ecrpy-*.whl"))
    sdists = sorted(dist.glob("ecrpy-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        fail(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
    check_wheel(wheels[0])
    smoke(wheels[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
