#!/usr/bin/env bash
# Installs FreeRDP's X11 client (xfreerdp, Debian package freerdp2-x11) and Xvfb, for the test that opens the broker's
# VMConnect .rdp files in FreeRDP's parser (VmConnectRdpFileTest). Idempotent: installs only what is missing, runs
# apt-get update only when apt does not know a package. Starts nothing.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

missing=()
command -v xfreerdp >/dev/null 2>&1 || missing+=(freerdp2-x11)
command -v xvfb-run >/dev/null 2>&1 || missing+=(xvfb xauth)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "install-freerdp: installing ${missing[*]}"
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
