package org.vdibroker.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** CPU time (user + system) that processes used so far, as the kernel counts it (/proc/&lt;pid&gt;/stat on Linux). */
final class CpuTime {

    private CpuTime() {
    }

    /** Sum over the processes and their descendants; a process that ended counts 0. */
    static long nanos(List<ProcessHandle> processes) {
        long total = 0;
        for (ProcessHandle process : processes) {
            total += process.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
            for (ProcessHandle child : process.descendants().toList()) {
                total += child.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
            }
        }
        return total;
    }

    /** The Keycloak that testsupport.KeycloakServer started (its pid file), kc.sh and the JVM under it. */
    static List<ProcessHandle> keycloak() {
        List<ProcessHandle> found = new ArrayList<>();
        try {
            long pid = Long.parseLong(Files.readString(Path.of("target", "keycloak-test.pid")).trim());
            ProcessHandle.of(pid).ifPresent(found::add);
        } catch (IOException | NumberFormatException e) {
            throw new IllegalStateException("no Keycloak pid in target/keycloak-test.pid", e);
        }
        return found;
    }
}
