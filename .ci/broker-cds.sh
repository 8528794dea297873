#!/usr/bin/env bash
# Writes a class-data-sharing archive of the packaged broker (AppCDS, JDK 13+ dynamic archive) for the integration
# tests: target/quarkus-app/broker-cds.jsa. The ITs start about thirty broker JVMs (three-node clusters, restarts,
# @QuarkusIntegrationTest); one started with -XX:SharedArchiveFile=<this file> maps the classes a started broker
# uses instead of loading and verifying them again; one node's boot took 8.0 s of CPU instead of 9.9 s (seven pairs,
# alternating, on a busy machine). Only classes of the JDK's own class loaders are archived (JDK 17's dynamic archive
# leaves out those of Quarkus's class loader). Quarkus's own archive (quarkus.package.jar.appcds) holds only the
# classes of static init and gained nothing measurable.
#
# How: the broker is started once with -XX:ArchiveClassesAtExit (H2 in a temporary directory, free ports on
# 127.0.0.1, the tests' signing key instead of Keycloak), stopped with SIGTERM once it has started; the JVM writes
# the archive as it exits. Skipped when the archive is newer than the package. An optimisation only: on any failure
# the archive is removed and the tests run without it (a JVM given a missing archive ignores it).
# The archive records the jar's path: the JVMs that use it must run "-jar <absolute path of quarkus-run.jar>".
set -uo pipefail

base=$(cd "$(dirname "$0")/.." && pwd)
app="$base/target/quarkus-app"
jar="$app/quarkus-run.jar"
archive="$app/broker-cds.jsa"

[ -f "$jar" ] || { echo "broker-cds: no $jar, nothing to do"; exit 0; }
if [ -f "$archive" ] && [ -z "$(find "$app" -name '*.jar' -newer "$archive" -print -quit)" ]; then
    echo "broker-cds: $archive is up to date"
    exit 0
fi
rm -f "$archive"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
key=$(sed -n 's/^test\.oidc\.public-key=//p' "$base/src/test/resources/META-INF/microprofile-config.properties")
secrets=$(head -c 32 /dev/urandom | base64)
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

# the same JVM options as the tests' nodes (see ClusterNodes), so that the archive's classes match theirs
"$java" -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ArchiveClassesAtExit="$archive" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port=0 \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port=0 \
    -Dbroker.data-dir="$work/data" -Dbroker.secrets.key="$secrets" \
    -Dquarkus.oidc.public-key="$key" -Dquarkus.oidc.auth-server-url= -Dquarkus.oidc.discovery-enabled=false \
    -Dquarkus.oidc.token.issuer=https://test.vdibroker/realms/vdi \
    -jar "$jar" >"$work/broker.log" 2>&1 &
pid=$!

started=false
for _ in $(seq 1 360); do # up to 3 minutes on a busy machine
    if grep -q " started in " "$work/broker.log"; then started=true; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
done
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    started=false
fi
wait "$pid" 2>/dev/null

if $started && [ -s "$archive" ]; then
    echo "broker-cds: wrote $archive ($(du -h "$archive" | cut -f1))"
else
    echo "broker-cds: WARNING: no archive written, the tests' brokers start without it; the broker said:"
    tail -n 20 "$work/broker.log"
    rm -f "$archive"
fi
exit 0
