#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the portal's browser tests (PortalBrowserIT). Idempotent: does
# nothing when both are there; refreshes apt's lists only when apt does not know the packages.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if ! apt-cache show chromium-driver >/dev/null 2>&1; then
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
fi
echo "install-browser: installing chromium chromium-driver"
as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium chromium-driver
