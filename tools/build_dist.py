"""Build every release artefact into one directory: the sdist, then wheels made from it.

- ``py3-none-any``: the package and the wheel script ``docker-credential-ecrpy`` (Linux, macOS).
- ``py3-none-win_amd64`` and ``py3-none-win_arm64``: the same package with a ``console_scripts``
  entry point instead, so that pip and pipx on Windows write ``docker-credential-ecrpy.exe``,
  the only form Docker's ``exec.LookPath`` finds there (setup.py says why). pip on Windows
  prefers a wheel tagged for its platform to the ``any`` one.

Every wheel is built from the sdist, in a scratch directory of its own, so each proves the sdist
complete and none sees another's ``build/``. ``make dist`` and the Windows suite both build here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WINDOWS_PLATFORMS = ("win_amd64", "win_arm64")


def build(outdir: Path, platforms: tuple[str, ...] = WINDOWS_PLATFORMS) -> list[Path]:
    """Build into ``outdir`` (which must hold no ecrpy artefact yet); the artefacts built."""
    outdir.mkdir(parents=True, exist_ok=True)

    def run_build(*args: str) -> None:
        command = [sys.executable, "-m", "build", "--outdir", str(outdir), *args]
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)

    run_build("--sdist", str(ROOT))
    (sdist,) = outdir.glob("ecrpy-*.tar.gz")
    run_build("--wheel", str(sdist))
    for platform in platforms:
        run_build("--wheel", f"-C--build-option=--plat-name={platform}", str(sdist))
    return sorted(outdir.glob("ecrpy-*"))


def main(argv: list[str]) -> int:
    for artefact in build(Path(argv[1] if len(argv) > 1 else "dist")):
        print(f"build_dist: {artefact.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
