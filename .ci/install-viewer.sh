#!/usr/bin/env bash
# Installs Debian's remote-viewer (package virt-viewer) and Xvfb for the console tests that open the broker's .vv
# files the way a user's viewer does (SpiceConsoleTest). Idempotent: installs only what is missing and refreshes the
# package lists only when apt does not know a package.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

missing=()
command -v remote-viewer >/dev/null 2>&1 || missing+=(virt-viewer)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-viewer: installing ${missing[*]}"
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
