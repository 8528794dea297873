#!/usr/bin/env bash
# Installs Go and govmomi's vSphere API simulator library from Debian and builds the small vcsim launcher kept in
# src/test/go/vcsim (Debian ships the simulator library but no vcsim binary), for the vSphere driver tests.
# Idempotent: installs only missing packages and rebuilds only when the launcher's source is newer than the binary.
# Usage: .ci/install-vcsim.sh <output binary>   (default target/vcsim/vcsim)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/target/vcsim/vcsim}
SRC=$ROOT/src/test/go/vcsim/main.go
PACKAGES=(golang-go golang-github-vmware-govmomi-dev golang-github-google-uuid-dev)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-vcsim: installing ${missing[*]}"
    for p in "${missing[@]}"; do
        if ! apt-cache show "$p" >/dev/null 2>&1; then
            as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
            break
        fi
    done
    install() {
        as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
            --no-install-recommends "$@"
    }
    install "${missing[@]}" || { as_root apt-get -o DPkg::Lock::Timeout=600 update -qq && install "${missing[@]}"; }
fi

if [ -x "$OUT" ] && [ "$OUT" -nt "$SRC" ]; then
    exit 0
fi
GO=$(command -v go || echo /usr/lib/go/bin/go)
WORK=$(dirname "$OUT")/gopath
mkdir -p "$WORK/src/vdibroker/vcsim" "$(dirname "$OUT")"
cp "$SRC" "$WORK/src/vdibroker/vcsim/main.go"
echo "install-vcsim: building $OUT"
# GOPATH mode: the simulator and its dependencies come from Debian's /usr/share/gocode, nothing is downloaded
(cd "$WORK/src/vdibroker/vcsim" && GO111MODULE=off GOFLAGS=-mod=mod GOPATH="$WORK:/usr/share/gocode" \
    GOCACHE="$WORK/cache" GOPROXY=off "$GO" build -o "$OUT" .)
echo "install-vcsim: built $OUT"
