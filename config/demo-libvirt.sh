#!/usr/bin/env bash
# The real-desktop part of `bash config/run-demo.sh --libvirt`, sourced by run-demo.sh (not run on its own).
#
# libvirt_demo_prepare   installs and starts libvirt and QEMU (.ci/install-libvirt.sh), creates a storage pool of its
#                        own (transient: it disappears when stopped) and writes the demo guest image into it
# libvirt_demo_register  once the broker answers: registers the local libvirt as a hypervisor and a pool of one desktop
#                        entitled to the demo user, waits for the desktop, writes target/libvirt-demo/open-desktop.sh
#                        and prints how to open the desktop with remote-viewer
# libvirt_demo_cleanup   removes what it made: the pool and hypervisor in the broker, the VMs, the storage pool and
#                        its directory. It never stops libvirtd (others may use it).
#
# The guest is a boot sector that clears the screen and prints a banner: no Linux image is in the registries this
# project may use without downloads, and a banner is enough to see that the console, the ticket and the viewer work.
#
# Names (unique per run unless set): LIBVIRT_DEMO_POOL (broker pool, default kvm-demo),
# LIBVIRT_DEMO_STORAGE (libvirt storage pool, default vdi-demo-<random>).

LIBVIRT_URI=qemu:///system
LIBVIRT_DEMO_POOL=${LIBVIRT_DEMO_POOL:-kvm-demo}
LIBVIRT_DEMO_HYPERVISOR=${LIBVIRT_DEMO_HYPERVISOR:-$LIBVIRT_DEMO_POOL-host}
LIBVIRT_DEMO_STORAGE=${LIBVIRT_DEMO_STORAGE:-vdi-demo-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')}
LIBVIRT_DEMO_DIR=/var/lib/libvirt/images/$LIBVIRT_DEMO_STORAGE
LIBVIRT_DEMO_OUT=${LIBVIRT_DEMO_OUT:-$ROOT/target/libvirt-demo}
LIBVIRT_DEMO_BANNER=${LIBVIRT_DEMO_BANNER:-vdi-broker demo desktop}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
virsh_() { as_root virsh -q -c "$LIBVIRT_URI" "$@"; }

# A 1 MiB disk whose boot sector clears the screen, prints the banner through the BIOS and halts (16-bit code; the
# same bytes as LibvirtDesktopTest's image). The banner starts at offset 0x25.
libvirt_demo_write_image() {
    local file=$1 code
    code='\xfa\x31\xc0\x8e\xd8\x8e\xd0\xbc\x00\x7c\xfb\xb8\x03\x00\xcd\x10\xbe\x25\x7c\xac\x08\xc0\x74\x09\xb4\x0e'
    code+='\xbb\x0f\x00\xcd\x10\xeb\xf2\xfa\xf4\xeb\xfc'
    head -c 1048576 /dev/zero >"$file"
    printf "$code" | dd of="$file" conv=notrunc status=none
    printf '%s\0' "$LIBVIRT_DEMO_BANNER" | dd of="$file" bs=1 seek=$((0x25)) conv=notrunc status=none
    printf '\x55\xaa' | dd of="$file" bs=1 seek=510 conv=notrunc status=none
}

libvirt_demo_prepare() {
    if [ ! -e /dev/kvm ]; then
        log "no /dev/kvm here: the desktop runs in QEMU's emulator (slower to boot, works the same)"
    fi
    bash "$ROOT/.ci/install-libvirt.sh" >&2
    as_root mkdir -p "$LIBVIRT_DEMO_DIR"
    as_root chmod 0755 "$LIBVIRT_DEMO_DIR"
    local tmp
    tmp=$(mktemp)
    libvirt_demo_write_image "$tmp"
    as_root cp "$tmp" "$LIBVIRT_DEMO_DIR/demo-base.img"
    as_root chmod 0644 "$LIBVIRT_DEMO_DIR/demo-base.img"
    rm -f "$tmp"
    # transient: libvirt forgets it when it is destroyed, so nothing stays defined after the demo
    local xml
    xml=$(mktemp)
    printf "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>\n" \
        "$LIBVIRT_DEMO_STORAGE" "$LIBVIRT_DEMO_DIR" >"$xml"
    virsh_ pool-create "$xml" >/dev/null
    rm -f "$xml"
    log "libvirt storage pool $LIBVIRT_DEMO_STORAGE at $LIBVIRT_DEMO_DIR holds the demo image demo-base.img"
}

# curl with a bearer token; prints the body; fails on HTTP errors
libvirt_demo_api() {
    local token=$1 method=$2 path=$3 body=${4:-}
    local args=(-sS -f -X "$method" -H "Authorization: Bearer $token" "http://127.0.0.1:$BROKER_PORT$path")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
    curl "${args[@]}"
}

libvirt_demo_token() { # user password
    curl -sS -f "http://127.0.0.1:$KEYCLOAK_PORT/realms/vdi/protocol/openid-connect/token" \
        -d grant_type=password -d client_id=vdi-client -d "username=$1" -d "password=$2" |
        grep -o '"access_token":"[^"]*"' | cut -d'"' -f4
}

libvirt_demo_register() {
    local deadline=$((SECONDS + 300)) admin
    until http_ok "$MANAGEMENT_PORT" /q/health/ready; do
        alive "$broker_pid" || return 1
        ((SECONDS < deadline)) || { log "the broker did not get ready"; return 1; }
        sleep 1
    done
    admin=$(libvirt_demo_token deskadmin deskadmin)
    # capacity is a ceiling over what the whole host uses (the driver counts every VM and the host's own memory), so
    # it is set high: the pool's maxSize of 1 is what bounds the demo. The banner guest ignores ACPI shutdown, so a
    # short shutdown timeout makes refreshes and clean-up quick.
    libvirt_demo_api "$admin" POST /api/v1/admin/hypervisors "{
        \"id\": \"$LIBVIRT_DEMO_HYPERVISOR\", \"driver\": \"libvirt\", \"endpoint\": \"$LIBVIRT_URI\",
        \"config\": {\"consoles\": \"vnc,spice\", \"consoleListen\": \"127.0.0.1\", \"shutdownTimeoutMs\": \"2000\"},
        \"capacity\": {\"vcpus\": 64, \"memoryMb\": 1000000, \"maxDesktops\": 2}, \"concurrencyLimit\": 2 }" >/dev/null
    libvirt_demo_api "$admin" POST /api/v1/admin/pools "{
        \"id\": \"$LIBVIRT_DEMO_POOL\", \"displayName\": \"Real desktop (libvirt)\", \"assignment\": \"floating\",
        \"minSize\": 1, \"spare\": 1, \"maxSize\": 1, \"protocols\": [\"spice\", \"vnc\"],
        \"desktop\": {\"vcpus\": 1, \"memoryMb\": 128},
        \"templates\": [{\"hypervisorId\": \"$LIBVIRT_DEMO_HYPERVISOR\",
                         \"templateRef\": \"$LIBVIRT_DEMO_STORAGE/demo-base.img\"}],
        \"entitlements\": {\"groups\": [\"/vdi-users\"], \"users\": []} }" >/dev/null
    log "registered hypervisor $LIBVIRT_DEMO_HYPERVISOR ($LIBVIRT_URI) and pool $LIBVIRT_DEMO_POOL for the demo user"
    deadline=$((SECONDS + 180))
    until libvirt_demo_api "$admin" GET "/api/v1/admin/pools/$LIBVIRT_DEMO_POOL/desktops" | grep -q '"READY"'; do
        ((SECONDS < deadline)) || { log "no ready desktop in pool $LIBVIRT_DEMO_POOL after 180 s"; return 1; }
        sleep 2
    done
    libvirt_demo_write_opener
    log "a real desktop is ready. Open it with remote-viewer (Debian: apt-get install virt-viewer):"
    log ""
    log "    bash ${LIBVIRT_DEMO_OUT#"$ROOT"/}/open-desktop.sh            # SPICE"
    log "    PROTOCOL=vnc bash ${LIBVIRT_DEMO_OUT#"$ROOT"/}/open-desktop.sh"
    log ""
    log "It signs in as demo, asks for a desktop in pool $LIBVIRT_DEMO_POOL, fetches a .vv file with a fresh one-time"
    log "ticket and runs remote-viewer on it (the ticket works once and for broker.tickets.lifetime)."
    echo "LIBVIRT-DEMO-READY" >"$LIBVIRT_DEMO_OUT/state"
}

# The steps a user takes, as a script: sign in, ask for a desktop, fetch the .vv file, open it.
libvirt_demo_write_opener() {
    mkdir -p "$LIBVIRT_DEMO_OUT"
    cat >"$LIBVIRT_DEMO_OUT/open-desktop.sh" <<OPENER
#!/usr/bin/env bash
# Opens the libvirt demo desktop as the user demo. VV_ONLY=1 only writes the .vv file (for headless checks).
set -euo pipefail
PROTOCOL=\${PROTOCOL:-spice}
TOKEN=\$(curl -sS -f http://127.0.0.1:$KEYCLOAK_PORT/realms/vdi/protocol/openid-connect/token \\
  -d grant_type=password -d client_id=vdi-client -d username=demo -d password=demo \\
  | grep -o '"access_token":"[^"]*"' | cut -d'"' -f4)
SESSION=\$(curl -sS -f -X POST -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
  -d "{\"protocol\": \"\$PROTOCOL\"}" http://127.0.0.1:$BROKER_PORT/api/v1/me/pools/$LIBVIRT_DEMO_POOL/desktop \\
  | grep -o '"id":"[^"]*"' | head -n 1 | cut -d'"' -f4)
READY=
for _ in \$(seq 1 90); do
  if curl -sS -f -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$BROKER_PORT/api/v1/me/sessions/\$SESSION \\
    | grep -q '"state":"\(READY\|CONNECTED\|DISCONNECTED\)"'; then READY=yes; break; fi
  sleep 2
done
[ -n "\$READY" ] || { echo "session \$SESSION has no desktop after 3 minutes" >&2; exit 1; }
VV=$LIBVIRT_DEMO_OUT/desktop.vv
curl -sS -f -H "Authorization: Bearer \$TOKEN" \\
  http://127.0.0.1:$BROKER_PORT/api/v1/me/sessions/\$SESSION/connection.vv -o "\$VV"
echo "session \$SESSION: \$VV"
[ -n "\${VV_ONLY:-}" ] || exec remote-viewer "\$VV"
OPENER
}

libvirt_demo_cleanup() {
    local admin deadline pool
    if alive "$broker_pid"; then
        log "removing pool $LIBVIRT_DEMO_POOL and hypervisor $LIBVIRT_DEMO_HYPERVISOR from the broker"
        admin=$(libvirt_demo_token deskadmin deskadmin 2>/dev/null || true)
        pool=""
        [ -n "$admin" ] && pool=$(libvirt_demo_api "$admin" GET "/api/v1/admin/pools/$LIBVIRT_DEMO_POOL" 2>/dev/null || true)
        if [ -n "$pool" ]; then
            # a desktop in use is never taken from its user: log its sessions off first
            local session
            for session in $(libvirt_demo_api "$admin" GET "/api/v1/admin/sessions?pool=$LIBVIRT_DEMO_POOL" 2>/dev/null |
                grep -o '"id":"[^"]*"' | cut -d'"' -f4); do
                libvirt_demo_api "$admin" POST "/api/v1/admin/sessions/$session/logoff" >/dev/null 2>&1 || true
            done
            # sizes 0: the broker retires the desktops through the driver; then the pool can go
            pool=$(printf '%s' "$pool" | sed -e 's/"minSize":[0-9]*/"minSize":0/' -e 's/"spare":[0-9]*/"spare":0/' \
                -e 's/"maxSize":[0-9]*/"maxSize":0/')
            libvirt_demo_api "$admin" PUT "/api/v1/admin/pools/$LIBVIRT_DEMO_POOL" "$pool" >/dev/null ||
                log "the broker did not accept pool $LIBVIRT_DEMO_POOL with size 0"
            deadline=$((SECONDS + 90))
            while ((SECONDS < deadline)) && libvirt_demo_api "$admin" GET \
                "/api/v1/admin/pools/$LIBVIRT_DEMO_POOL/desktops" 2>/dev/null | grep -q '"id"'; do
                sleep 1
            done
            libvirt_demo_api "$admin" DELETE "/api/v1/admin/pools/$LIBVIRT_DEMO_POOL" >/dev/null ||
                log "the broker kept pool $LIBVIRT_DEMO_POOL"
        fi
        if [ -n "$admin" ]; then
            libvirt_demo_api "$admin" DELETE "/api/v1/admin/hypervisors/$LIBVIRT_DEMO_HYPERVISOR" >/dev/null 2>&1 ||
                log "the broker kept hypervisor $LIBVIRT_DEMO_HYPERVISOR (or it was never registered)"
        fi
    fi
    # whatever the broker could not remove: only this demo's VMs (named <pool>-<8 hex digits>)
    local vm
    for vm in $(virsh_ list --all --name 2>/dev/null | grep -E "^$LIBVIRT_DEMO_POOL-[0-9a-f]{8}$" || true); do
        log "removing VM $vm"
        virsh_ destroy "$vm" >/dev/null 2>&1 || true
        virsh_ undefine "$vm" --nvram >/dev/null 2>&1 || virsh_ undefine "$vm" >/dev/null 2>&1 || true
    done
    if virsh_ pool-info "$LIBVIRT_DEMO_STORAGE" >/dev/null 2>&1; then
        virsh_ pool-destroy "$LIBVIRT_DEMO_STORAGE" >/dev/null 2>&1 || true
    fi
    as_root rm -rf "$LIBVIRT_DEMO_DIR"
    rm -f "$LIBVIRT_DEMO_OUT/state"
    log "libvirt demo removed (libvirtd keeps running)"
}
