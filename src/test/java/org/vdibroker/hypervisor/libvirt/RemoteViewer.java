package org.vdibroker.hypervisor.libvirt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code remote-viewer} (virt-viewer) opening a {@code .vv} file on a private Xvfb display, with SPICE debug
 * output, so a test sees what a user's viewer does: whether the display channel links and gets the guest's primary
 * surface, or the console refuses the ticket.
 */
final class RemoteViewer implements AutoCloseable {

    /** spice-gtk's debug line when the display channel created the guest's primary surface. */
    static final String PRIMARY_SURFACE = "Create primary canvas";
    /** spice-gtk's debug line for a channel the server refused (7 = permission denied). */
    static final String REFUSED = "link result: reply 7";

    private final Process xvfb;
    private final String display;

    private RemoteViewer(Process xvfb, String display) {
        this.xvfb = xvfb;
        this.display = display;
    }

    /** Starts Xvfb on a display number it picks itself (-displayfd), so parallel builds do not collide. */
    static RemoteViewer start(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Process x = new ProcessBuilder("Xvfb", "-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp")
                .redirectError(dir.resolve("xvfb.log").toFile()).start();
        byte[] number = new byte[16];
        int n = x.getInputStream().read(number);
        if (n <= 0) {
            x.destroyForcibly();
            throw new IOException("Xvfb did not start; see " + dir.resolve("xvfb.log"));
        }
        return new RemoteViewer(x, ":" + new String(number, 0, n, StandardCharsets.US_ASCII).trim());
    }

    /** What one open of a .vv file showed. */
    record Outcome(boolean primarySurface, boolean refused, String log) {
    }

    /**
     * Opens {@code vvContent} as remote-viewer would from a download, waits until the display channel shows the
     * primary surface, a channel is refused, or {@code timeout}; then closes the viewer.
     */
    Outcome open(String vvContent, Path log, Duration timeout) throws IOException, InterruptedException {
        Path file = Files.createTempFile(log.getParent(), "console", ".vv");
        Files.writeString(file, vvContent);
        ProcessBuilder pb = new ProcessBuilder(List.of("remote-viewer", "--debug", "--spice-debug", file.toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("DISPLAY", display);
        pb.environment().put("SPICE_DEBUG", "1");
        pb.environment().put("GTK_A11Y", "none");
        pb.environment().put("NO_AT_BRIDGE", "1");
        Process viewer = pb.start();
        Instant deadline = Instant.now().plus(timeout);
        String text = "";
        try {
            while (Instant.now().isBefore(deadline)) {
                text = Files.readString(log, StandardCharsets.ISO_8859_1);
                if (text.contains(PRIMARY_SURFACE) || text.contains(REFUSED) || !viewer.isAlive()) {
                    break;
                }
                Thread.sleep(100);
            }
        } finally {
            viewer.destroy();
            if (!viewer.waitFor(5, TimeUnit.SECONDS)) {
                viewer.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(file);
        }
        text = Files.readString(log, StandardCharsets.ISO_8859_1);
        return new Outcome(text.contains(PRIMARY_SURFACE), text.contains(REFUSED), text);
    }

    @Override
    public void close() throws InterruptedException {
        xvfb.destroy();
        if (!xvfb.waitFor(5, TimeUnit.SECONDS)) {
            xvfb.destroyForcibly();
        }
    }
}
