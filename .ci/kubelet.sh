#!/usr/bin/env bash
# A real kubelet for tests/e2e/test_kubelet.py: kubelet 1.20.2 and the kubelet's in-tree fake
# container runtime (wrapped by tests/e2e/fake_cri/main.go to record each PullImage's auth),
# built from Debian bookworm's `kubernetes` source package with Debian's golang-1.19.
#
#   .ci/kubelet.sh          build (once: the binaries are kept under $KUBELET_CACHE, keyed by
#                           the source package, Go and wrapper versions) and print their directory
#   .ci/kubelet.sh --dir    print that directory only, build nothing (the test uses it)
#
# Why this way: no kubelet is packaged in Debian stable, and the Go module proxy is not reachable,
# so the build runs in GOPATH mode on the source package's vendor tree. Its vendored reflect2
# (1.0.1) crashes under Go >= 1.18 and is swapped for Debian's 1.0.2. The source is fetched with a
# private apt configuration naming deb-src on the mirror the system already uses; the system's
# own sources are never changed. Nothing is written into the repository.
set -euo pipefail

SOURCE_PACKAGE=kubernetes # bookworm's is 1.20.5+really1.20.2-1.1+deb12u1: upstream 1.20.2
UPSTREAM=1.20.2
GO=golang-1.19-go
REFLECT2=golang-github-modern-go-reflect2-dev
HERE="$(cd "$(dirname "$0")/.." && pwd)"
WRAPPER="$HERE/tests/e2e/fake_cri/main.go"

wrapper_sum="$(sha256sum "$WRAPPER" | cut -c1-12)"
KUBELET_CACHE="${KUBELET_CACHE:-/var/cache/ecrpy-kubelet}"
OUT="$KUBELET_CACHE/kubelet-$UPSTREAM-bookworm-go1.19-cri-$wrapper_sum"

if [ "${1:-}" = --dir ]; then
  echo "$OUT"
  exit 0
fi
if [ -x "$OUT/kubelet" ] && [ -x "$OUT/fake-cri" ]; then
  echo "$OUT"
  exit 0
fi

apt_get() { apt-get -o DPkg::Lock::Timeout=900 "$@"; }
missing=()
for package in "$GO" "$REFLECT2" dpkg-dev; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq "${missing[@]}" >/dev/null
fi

work="$(mktemp -d /tmp/ecrpy-kubelet-build.XXXXXX)"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

# deb-src for the mirror and suite of the system's first Debian source (one-line or deb822).
mirror="$(grep -rhoE '^(deb|URIs:)[[:space:]]+(\[[^]]*\][[:space:]]+)?https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
  /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^[:space:]]+' |
  head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
mkdir -p "$work/apt/parts" "$work/apt/lists/partial" "$work/apt/cache/archives/partial"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main" \
  >"$work/apt/sources.list"
private=(
  -o "Dir::Etc::SourceList=$work/apt/sources.list"
  -o "Dir::Etc::SourceParts=$work/apt/parts"
  -o "Dir::State::Lists=$work/apt/lists"
  -o "Dir::Cache=$work/apt/cache"
  -o "APT::Sandbox::User=root"
)
apt_get "${private[@]}" update -qq
tree="$work/gopath/src/k8s.io"
mkdir -p "$tree"
(cd "$tree" && apt_get "${private[@]}" source -qq "$SOURCE_PACKAGE/bookworm" >/dev/null)
# The source tree is named for Debian's version, e.g. kubernetes-1.20.5+really1.20.2.
unpacked=("$tree/$SOURCE_PACKAGE"-*/)
case "${unpacked[0]}" in
  *"really$UPSTREAM/" | *"-$UPSTREAM/") ;;
  *) echo "kubelet.sh: bookworm's $SOURCE_PACKAGE is ${unpacked[0]}, not upstream $UPSTREAM" >&2; exit 1 ;;
esac
mv "${unpacked[0]}" "$tree/kubernetes"
src="$tree/kubernetes"

rm -rf "$src/vendor/github.com/modern-go/reflect2"
cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$src/vendor/github.com/modern-go/reflect2"
mkdir -p "$src/cmd/ecrpy-fake-cri"
cp "$WRAPPER" "$src/cmd/ecrpy-fake-cri/main.go"

# Go's build cache stays beside the binaries (-trimpath: its keys do not name the scratch
# directory), so a changed wrapper rebuilds in seconds.
export GOPATH="$work/gopath" GO111MODULE=off GOFLAGS= CGO_ENABLED=0 GOCACHE="$KUBELET_CACHE/gocache"
export PATH="/usr/lib/go-1.19/bin:$PATH"
# In GOPATH mode the version package is the vendored copy, so -X names it by that path.
version="k8s.io/kubernetes/vendor/k8s.io/component-base/version"
ldflags="-s -w -X $version.gitVersion=v$UPSTREAM -X $version.gitMajor=1"
ldflags="$ldflags -X $version.gitMinor=20 -X $version.gitTreeState=clean"
mkdir -p "$work/out"
(cd "$src" && go build -trimpath -o "$work/out/" -ldflags "$ldflags" ./cmd/kubelet ./cmd/ecrpy-fake-cri)
mv "$work/out/ecrpy-fake-cri" "$work/out/fake-cri"
"$work/out/kubelet" --version | grep -qx "Kubernetes v$UPSTREAM"

mkdir -p "$KUBELET_CACHE"
rm -rf "$OUT.tmp"
mv "$work/out" "$OUT.tmp"
mv -T "$OUT.tmp" "$OUT"
echo "$OUT"
