#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet (idempotent; the test tools the build
# needs, e.g. FreeRDP, Xvfb, OpenSSL). Refreshes the package lists only when apt does not know a package or the
# install fails on stale lists. Waits for another apt run to finish instead of failing on its lock.
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

missing=()
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-debian: installing ${missing[*]}"
APT=(apt-get -o DPkg::Lock::Timeout=600)
for p in "${missing[@]}"; do
    if ! apt-cache show "$p" >/dev/null 2>&1; then
        as_root "${APT[@]}" update -qq
        break
    fi
done
install() { as_root env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq --no-install-recommends "$@"; }
install "${missing[@]}" || { as_root "${APT[@]}" update -qq && install "${missing[@]}"; }
