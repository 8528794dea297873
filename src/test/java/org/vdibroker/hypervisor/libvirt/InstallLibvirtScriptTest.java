package org.vdibroker.hypervisor.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code .ci/install-libvirt.sh stop} stops exactly the libvirtd and virtlogd that the script started. The daemons
 * of this host are shared (other builds use them), so the script runs in private namespaces: its own PID namespace
 * (where no libvirtd runs yet, so it starts both), its own network namespace, and empty /run, /var/lib/libvirt,
 * /var/cache/libvirt and /var/log/libvirt, so nothing it starts or stops touches the host's daemons.
 */
class InstallLibvirtScriptTest {

    @Test
    void stopLeavesNoDaemonItStarted() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root for namespaces");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/sbin/libvirtd")), "needs libvirtd installed");
        Path script = Path.of(".ci/install-libvirt.sh").toAbsolutePath();
        String steps = String.join("\n",
                "set -e",
                "for d in /run /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do mount -t tmpfs tmpfs $d; done",
                "bash " + script,
                "echo \"started: libvirtd=$(pgrep -x libvirtd) virtlogd=$(pgrep -x virtlogd)\"",
                "bash " + script + " stop",
                "echo \"after stop: libvirtd=$(pgrep -x libvirtd || true) virtlogd=$(pgrep -x virtlogd || true)\"");
        Process p = new ProcessBuilder("unshare", "--mount", "--pid", "--net", "--fork", "--mount-proc", "bash", "-c",
                steps).redirectErrorStream(true).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("the script finished").isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).as(out).containsPattern("started: libvirtd=\\d+ virtlogd=\\d+")
                .contains("after stop: libvirtd= virtlogd=\n");
    }
}
