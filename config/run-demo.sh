#!/usr/bin/env bash
# Runs the demo on this machine: a real Keycloak (realm "vdi", demo users) and the broker with its simulator
# hypervisor and the pool "demo", both on 127.0.0.1 only. Ctrl-C stops both.
#
#   bash config/run-demo.sh                      # broker on :8080 (health, metrics on :9000), Keycloak on :8180
#   BROKER_PORT=9080 MANAGEMENT_PORT=9090 KEYCLOAK_PORT=9180 bash config/run-demo.sh
#   bash config/run-demo.sh --libvirt            # plus a real desktop on the local libvirt/QEMU (needs root or sudo)
#
# --libvirt: see config/demo-libvirt.sh. DEMO_SKIP_BUILD=1 uses the broker already packaged in target/quarkus-app.
#
# Needs only Java 17+ and Maven; Keycloak comes from Maven Central. Keycloak's log: target/keycloak.log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

WITH_LIBVIRT=""
for arg in "$@"; do
    case $arg in
        --libvirt) WITH_LIBVIRT=yes ;;
        *) printf '[run-demo] unknown option %s (known: --libvirt)\n' "$arg" >&2; exit 2 ;;
    esac
done

BROKER_PORT=${BROKER_PORT:-8080}
# the broker's management interface: /q/health/..., /q/metrics, /q/openapi (not on BROKER_PORT)
MANAGEMENT_PORT=${MANAGEMENT_PORT:-9000}
KEYCLOAK_PORT=${KEYCLOAK_PORT:-8180}
KC_VERSION=26.5.6
KC_HOME="$ROOT/target/keycloak/keycloak-$KC_VERSION"
KC_LOG="$ROOT/target/keycloak.log"
KC_PID_FILE="$ROOT/target/keycloak.pid"
DISCOVERY="/realms/vdi/.well-known/openid-configuration"

kc_pid=""
broker_pid=""
register_pid=""

log() { printf '[run-demo] %s\n' "$*" >&2; }

# True when something accepts connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when GET http://127.0.0.1:$1$2 answers 200 (plain bash, so curl is not required).
http_ok() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$2" "$1" >&3
        IFS= read -r -t 5 status <&3 || exit 1
        [[ $status == "HTTP/1.1 200"* ]]
    ) 2>/dev/null
}

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# Process group of process $1, from /proc (ps may be missing on a minimal machine).
process_group() {
    local stat state ppid pgrp
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    read -r state ppid pgrp _ <<<"${stat##*) }"
    echo "$pgrp"
}

# Sends TERM to process $1 (and to its process group when it leads one), waits up to $2 seconds, then KILL.
stop_pid() {
    local pid=$1 grace=$2 target=$1 i
    alive "$pid" || return 0
    [[ $(process_group "$pid") == "$pid" ]] && target="-$pid"
    kill -TERM -- "$target" 2>/dev/null || true
    for ((i = 0; i < grace * 2; i++)); do
        alive "$pid" || break
        sleep 0.5
    done
    alive "$pid" && kill -KILL -- "$target" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $WITH_LIBVIRT ]]; then
        alive "$register_pid" && kill "$register_pid" 2>/dev/null
        libvirt_demo_cleanup || true
    fi
    if alive "$broker_pid"; then
        log "stopping the broker"
        stop_pid "$broker_pid" 30
    fi
    if alive "$kc_pid"; then
        log "stopping Keycloak"
        stop_pid "$kc_pid" 30
    fi
    rm -f "$KC_PID_FILE"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

java_cmd() { if [[ -n ${JAVA_HOME:-} ]]; then echo "$JAVA_HOME/bin/java"; else echo java; fi; }

java_feature_version() {
    "$(java_cmd)" -XshowSettings:properties -version 2>&1 |
        awk -F'= ' '/java.specification.version/ { split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit }'
}

# ---- 1. build the broker ----
if [[ -n ${DEMO_SKIP_BUILD:-} && -f target/quarkus-app/quarkus-run.jar ]]; then
    log "using the broker packaged in target/quarkus-app"
else
    log "building the broker (mvn -B -q -DskipTests -Dlibvirt.setup.skip=true package)"
    mvn -B -q -DskipTests -Dlibvirt.setup.skip=true package
fi

if [[ -n $WITH_LIBVIRT ]]; then
    # shellcheck source=demo-libvirt.sh
    source "$ROOT/config/demo-libvirt.sh"
    mkdir -p "$LIBVIRT_DEMO_OUT"
    libvirt_demo_prepare
fi

# ---- 2. the Keycloak server from Maven Central ----
if [[ ! -f "$KC_HOME/bin/kc.sh" ]]; then
    log "unpacking Keycloak $KC_VERSION into target/keycloak"
    mvn -B -q dependency:unpack \
        -Dartifact="org.keycloak:keycloak-quarkus-dist:$KC_VERSION:zip" \
        -DoutputDirectory=target/keycloak
fi

# A Keycloak left behind by an earlier run that was killed hard.
if [[ -f $KC_PID_FILE ]]; then
    old=$(cat "$KC_PID_FILE" 2>/dev/null || true)
    if [[ $old =~ ^[0-9]+$ ]] && alive "$old" && grep -q "keycloak" "/proc/$old/cmdline" 2>/dev/null; then
        log "stopping the Keycloak left running by an earlier run (pid $old)"
        stop_pid "$old" 30
    fi
    rm -f "$KC_PID_FILE"
fi

for port in "$KEYCLOAK_PORT" "$BROKER_PORT" "$MANAGEMENT_PORT"; do
    if port_busy "$port"; then
        log "port $port on 127.0.0.1 is already in use; stop what uses it or set KEYCLOAK_PORT / BROKER_PORT / MANAGEMENT_PORT"
        exit 1
    fi
done

mkdir -p "$KC_HOME/data/import"
rm -f "$KC_HOME"/data/import/*.json
cp config/keycloak/vdi-realm.json "$KC_HOME/data/import/vdi-realm.json"

kc_java_opts=${JAVA_OPTS_APPEND:-}
java_version=$(java_feature_version)
if ((${java_version:-17} >= 24)); then
    kc_java_opts="${kc_java_opts:+$kc_java_opts }--add-opens=java.base/java.lang=ALL-UNNAMED"
fi

# In its own process group (setsid) so that stopping it also stops the re-augmentation step kc.sh may be running.
own_group=()
command -v setsid >/dev/null && own_group=(setsid)
log "starting Keycloak on http://127.0.0.1:$KEYCLOAK_PORT (log: target/keycloak.log)"
KC_BOOTSTRAP_ADMIN_USERNAME=admin \
    KC_BOOTSTRAP_ADMIN_PASSWORD=admin \
    JAVA_OPTS_KC_HEAP="-Xms64m -Xmx512m" \
    JAVA_OPTS_APPEND="$kc_java_opts" \
    "${own_group[@]}" bash "$KC_HOME/bin/kc.sh" start-dev --db=dev-mem --http-host=127.0.0.1 --http-port="$KEYCLOAK_PORT" --import-realm \
    >"$KC_LOG" 2>&1 </dev/null &
kc_pid=$!
echo "$kc_pid" >"$KC_PID_FILE"

deadline=$((SECONDS + ${KEYCLOAK_START_TIMEOUT:-180}))
until http_ok "$KEYCLOAK_PORT" "$DISCOVERY"; do
    if ! alive "$kc_pid"; then
        log "Keycloak exited while starting; last lines of target/keycloak.log:"
        tail -n 30 "$KC_LOG" >&2 || true
        exit 1
    fi
    if ((SECONDS > deadline)); then
        log "Keycloak did not answer $DISCOVERY within ${KEYCLOAK_START_TIMEOUT:-180} s; see target/keycloak.log"
        exit 1
    fi
    sleep 1
done
log "Keycloak is ready: realm vdi at http://127.0.0.1:$KEYCLOAK_PORT/realms/vdi (admin console: admin / admin)"

# ---- 3. the broker, in the foreground ----
broker_args=(-Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$BROKER_PORT" -Dquarkus.management.host=127.0.0.1
    -Dquarkus.management.port="$MANAGEMENT_PORT" -Dbroker.demo.enabled=true)
if [[ $KEYCLOAK_PORT != 8180 ]]; then
    broker_args+=(-Dbroker.keycloak.url="http://127.0.0.1:$KEYCLOAK_PORT")
fi
# The demo realm's secret of the vdi-broker client (a demo value): its service account checks pool groups.
export QUARKUS_OIDC_CREDENTIALS_SECRET=${QUARKUS_OIDC_CREDENTIALS_SECRET:-vdi-broker-demo-secret}
# .rdp files are signed with a self-signed demo certificate, made once (a demo value; production takes the keystore
# from a Secret, see src/site/markdown/rdp-signing.md). Windows trusts it once it is imported (the broker logs its
# thumbprint at start).
SIGNING_KEYSTORE="$ROOT/target/demo-rdp-signing.p12"
keytool_cmd() { if [[ -n ${JAVA_HOME:-} ]]; then echo "$JAVA_HOME/bin/keytool"; else echo keytool; fi; }
if [[ ! -f $SIGNING_KEYSTORE ]]; then
    log "making the demo's .rdp signing certificate (target/demo-rdp-signing.p12)"
    "$(keytool_cmd)" -genkeypair -alias rdp-signing -keyalg RSA -keysize 2048 -validity 365 \
        -dname "CN=vdi-broker demo publisher" -ext EKU=serverAuth,codeSigning -ext KU=digitalSignature \
        -storetype PKCS12 -keystore "$SIGNING_KEYSTORE" -storepass demo-signing -keypass demo-signing >/dev/null
fi
export BROKER_RDP_SIGNING_KEYSTORE=${BROKER_RDP_SIGNING_KEYSTORE:-$SIGNING_KEYSTORE}
export BROKER_RDP_SIGNING_KEYSTORE_PASSWORD=${BROKER_RDP_SIGNING_KEYSTORE_PASSWORD:-demo-signing}
log "starting the broker on http://127.0.0.1:$BROKER_PORT, health and metrics on http://127.0.0.1:$MANAGEMENT_PORT/q/ (Ctrl-C stops the broker and Keycloak)"
# Started as a child and waited for, so that INT/TERM reach the trap at once and both servers get stopped.
"$(java_cmd)" "${broker_args[@]}" -jar target/quarkus-app/quarkus-run.jar </dev/null &
broker_pid=$!
if [[ -n $WITH_LIBVIRT ]]; then
    libvirt_demo_register &
    register_pid=$!
fi
set +e
wait "$broker_pid"
rc=$?
set -e
broker_pid=""
exit "$rc"
