package org.vdibroker.hypervisor.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.File;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The real-desktop demo, headless: {@code bash config/run-demo.sh --libvirt} (the packaged broker, a real Keycloak
 * with the demo realm, the local libvirt/QEMU) brings up a libvirt desktop for the demo user; the script it writes
 * for users signs in as demo and fetches a {@code .vv} file; the desktop's screen (the demo image's banner) is reached
 * with the host, port and one-time password of that file, with the project's own RFB client. Stopping the demo
 * removes its VMs and its storage pool. The file is fetched for VNC: SPICE is checked by the libvirt driver's tests.
 */
class LibvirtDemoIT {

    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);

    @Test
    void oneCommandBringsUpARealDesktopTheVvFileOpens() throws Exception {
        boolean qemu = Stream.of("/usr/bin/qemu-system-x86_64", "/usr/libexec/qemu-kvm")
                .anyMatch(p -> Files.exists(Path.of(p)));
        if (!qemu && !Files.exists(Path.of("/dev/kvm"))) {
            Assumptions.abort("LibvirtDemoIT skipped: this host has neither /dev/kvm nor QEMU");
        }
        Path out = Path.of("target", "libvirt-demo-it-" + RUN).toAbsolutePath();
        String pool = "demo-it-" + RUN;
        String storage = "vdi-demo-it-" + RUN;
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("DEMO_SKIP_BUILD", "1");
        env.put("KEYCLOAK_START_TIMEOUT", "300");
        env.put("JAVA_OPTS_APPEND", "-XX:TieredStopAtLevel=1"); // Keycloak boots faster on a busy machine
        env.put("BROKER_PORT", String.valueOf(freePort()));
        env.put("MANAGEMENT_PORT", String.valueOf(freePort()));
        env.put("KEYCLOAK_PORT", String.valueOf(freePort()));
        env.put("LIBVIRT_DEMO_POOL", pool);
        env.put("LIBVIRT_DEMO_STORAGE", storage);
        env.put("LIBVIRT_DEMO_OUT", out.toString());
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("BROKER_DATA_DIR", out.resolve("data").toString()); // not the demo's ./data
        Path log = Path.of("target", "libvirt-demo-it-" + RUN + ".log").toAbsolutePath();
        ProcessBuilder pb = new ProcessBuilder("bash", "config/run-demo.sh", "--libvirt").redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        Process demo = pb.start();
        try {
            Path state = out.resolve("state");
            Instant deadline = Instant.now().plus(Duration.ofMinutes(9));
            while (!(Files.exists(state) && Files.readString(state).contains("LIBVIRT-DEMO-READY"))) {
                assertThat(demo.isAlive()).as("the demo is running; its log: " + log).isTrue();
                assertThat(Instant.now()).as("the demo's desktop ready in time; its log: " + log).isBefore(deadline);
                Thread.sleep(1000);
            }
            String printed = Files.readString(log);
            assertThat(printed).contains("bash target/libvirt-demo-it-" + RUN + "/open-desktop.sh", "remote-viewer");

            // what a user runs, without the viewer: sign in as demo, ask for a desktop, fetch the .vv file
            ProcessBuilder open = new ProcessBuilder("bash", out.resolve("open-desktop.sh").toString())
                    .redirectErrorStream(true);
            open.environment().put("VV_ONLY", "1");
            open.environment().put("PROTOCOL", "vnc");
            Process opener = open.start();
            String openerOut = new String(opener.getInputStream().readAllBytes());
            assertThat(opener.waitFor(4, TimeUnit.MINUTES)).isTrue();
            assertThat(opener.exitValue()).as(openerOut).isZero();
            Map<String, String> vv = vvFile(out.resolve("desktop.vv"));
            assertThat(vv).containsEntry("type", "vnc").containsKeys("host", "port", "password");

            try (RfbClient console = RfbClient.connect(vv.get("host"), Integer.parseInt(vv.get("port")),
                    vv.get("password"))) {
                BufferedImage frame = console.readFrame(false);
                Instant shown = Instant.now().plusSeconds(30);
                while (!lit(frame) && Instant.now().isBefore(shown)) {
                    frame = console.readFrame(true); // the guest is still booting (QEMU without KVM is slow)
                }
                Path png = Path.of("target", "libvirt-demo-desktop.png");
                ImageIO.write(frame, "png", png.toFile());
                assertThat(lit(frame)).as("the demo image's banner on the screen, see " + png).isTrue();
            }
            assertThatThrownBy(() -> RfbClient.connect(vv.get("host"), Integer.parseInt(vv.get("port")),
                    vv.get("password")).close()).as("the .vv ticket works once")
                    .isInstanceOf(RfbClient.AuthenticationFailed.class);
        } finally {
            demo.destroy(); // SIGTERM: the script removes what it made, then stops the broker and Keycloak
            boolean stopped = demo.waitFor(3, TimeUnit.MINUTES);
            if (!stopped) {
                demo.destroyForcibly();
            }
            assertThat(stopped).as("the demo stopped; its log: " + log).isTrue();
        }
        assertThat(virsh("list", "--all", "--name")).as("the demo's VMs removed").doesNotContain(pool + "-");
        assertThat(virsh("pool-list", "--all", "--name")).as("the demo's storage pool removed").doesNotContain(storage);
        assertThat(Path.of("/var/lib/libvirt/images", storage)).doesNotExist();
        assertThat(Files.readString(log)).as("the broker removed its pool and hypervisor; log: " + log)
                .contains("removing pool " + pool).doesNotContain("the broker kept", "did not accept", "removing VM");
    }

    /** Whether the screen shows the banner: the boot sector cleared it and printed one line at the top. */
    private static boolean lit(BufferedImage frame) {
        int top = 0;
        int below = 0;
        for (int y = 0; y < frame.getHeight(); y++) {
            for (int x = 0; x < frame.getWidth(); x++) {
                if ((frame.getRGB(x, y) & 0xffffff) != 0) {
                    if (y < 16) {
                        top++;
                    } else {
                        below++;
                    }
                }
            }
        }
        return top > 100 && below == 0;
    }

    private static Map<String, String> vvFile(Path file) throws Exception {
        Map<String, String> values = new HashMap<>();
        for (String line : Files.readAllLines(file)) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                values.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        return values;
    }

    private static String virsh(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("virsh", "-q", "-c", "qemu:///system"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(new File("/dev/null")).start();
        String output = new String(p.getInputStream().readAllBytes());
        p.waitFor(30, TimeUnit.SECONDS);
        return output;
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
