#!/usr/bin/env bash
# Installs libvirt and QEMU from Debian and starts virtlogd and libvirtd (no systemd here), for the libvirt driver
# tests. Idempotent: installs only what is missing and starts only daemons that are not running. The daemons it
# starts are written to $VDI_LIBVIRT_STATE/started (default /run/vdi-broker-libvirt) with the PIDs the daemons
# themselves report (--pid-file); `.ci/install-libvirt.sh stop` stops exactly those and waits until they are gone.
set -euo pipefail

STATE=${VDI_LIBVIRT_STATE:-/run/vdi-broker-libvirt}
SOCKET=/var/run/libvirt/libvirt-sock
PACKAGES=(libvirt0 libvirt-daemon libvirt-clients libvirt-daemon-driver-qemu libvirt-daemon-system qemu-utils
          qemu-system-x86)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

if [ "${1:-}" = "stop" ]; then
    # stops the daemons this script started (their own PIDs, from their pid files), and waits until they are gone
    if [ -f "$STATE/started" ]; then
        while read -r name pid; do
            if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
                echo "install-libvirt: stopping $name (pid $pid)"
                as_root kill "$pid" || true
                for _ in $(seq 1 100); do
                    kill -0 "$pid" 2>/dev/null || break
                    sleep 0.1
                done
                if kill -0 "$pid" 2>/dev/null; then
                    echo "install-libvirt: $name (pid $pid) did not stop in 10 s; killing it"
                    as_root kill -9 "$pid" || true
                fi
            fi
        done < "$STATE/started"
        as_root rm -f "$STATE/started"
    fi
    exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-libvirt: installing ${missing[*]}"
    # refresh the package lists only when apt does not know a package we need (or the install fails on stale lists)
    for p in "${missing[@]}"; do
        if ! apt-cache show "$p" >/dev/null 2>&1; then
            as_root apt-get update -qq
            break
        fi
    done
    install() { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; }
    install "${missing[@]}" || { as_root apt-get update -qq && install "${missing[@]}"; }
fi

as_root mkdir -p "$STATE" /var/run/libvirt /var/lib/libvirt/images

# Without udev, /dev/kvm stays root-only and QEMU (run as libvirt-qemu, group kvm) falls back to nothing: give it
# the group and mode Debian's udev rule would.
if [ -c /dev/kvm ] && getent group kvm >/dev/null && [ "$(stat -c %G:%a /dev/kvm)" != "kvm:660" ]; then
    as_root chgrp kvm /dev/kvm && as_root chmod 0660 /dev/kvm
fi

start_daemon() { # name, then the command
    local name=$1; shift
    if pgrep -x "$name" >/dev/null 2>&1; then
        return 0
    fi
    echo "install-libvirt: starting $name"
    local pidfile="$STATE/$name.pid"
    as_root rm -f "$pidfile"
    # the daemon writes its own PID (not that of a wrapper such as setsid or sudo), so "stop" finds exactly it
    as_root setsid "$@" --pid-file "$pidfile" </dev/null >>"$STATE/$name.log" 2>&1 &
    for _ in $(seq 1 100); do
        [ -s "$pidfile" ] && break
        sleep 0.1
    done
    if [ ! -s "$pidfile" ]; then
        echo "install-libvirt: $name wrote no pid file; its log:" >&2
        tail -n 30 "$STATE/$name.log" >&2 || true
        exit 1
    fi
    echo "$name $(tr -dc 0-9 < "$pidfile")" | as_root tee -a "$STATE/started" >/dev/null
}

start_daemon virtlogd /usr/sbin/virtlogd
start_daemon libvirtd /usr/sbin/libvirtd

for _ in $(seq 1 150); do
    if [ -S "$SOCKET" ] && virsh -c qemu:///system version >/dev/null 2>&1; then
        echo "install-libvirt: libvirtd is ready ($(virsh -c qemu:///system version | grep -i 'running hypervisor' || true))"
        exit 0
    fi
    sleep 0.2
done
echo "install-libvirt: libvirtd did not come up; its log:" >&2
tail -n 30 "$STATE/libvirtd.log" >&2 || true
exit 1
