package org.vdibroker.protocol;

import java.time.Duration;
import java.time.Instant;

/**
 * Renders connection files that clients open: {@code .rdp} (mstsc, FreeRDP, Remmina) and virt-viewer {@code .vv}
 * (remote-viewer, SPICE or VNC).
 */
public final class ConnectionFiles {

    public static final String RDP_MEDIA_TYPE = "application/x-rdp";
    public static final String VV_MEDIA_TYPE = "application/x-virt-viewer";

    private ConnectionFiles() {
    }

    /**
     * An RDP file. The ticket travels as the RD Gateway access token when a gateway is configured; without one
     * the desktop's own logon applies and the file carries no secret.
     */
    public static String rdp(Connection c, String gatewayHost) {
        StringBuilder b = new StringBuilder();
        line(b, "full address:s:" + c.host() + ":" + c.port());
        line(b, "username:s:" + sanitize(c.user()));
        line(b, "prompt for credentials:i:0");
        line(b, "screen mode id:i:2");
        line(b, "audiomode:i:0");
        line(b, "redirectclipboard:i:1");
        line(b, "autoreconnection enabled:i:1");
        if (c.preconnectionBlob() != null) {
            // Hyper-V VMConnect: the host's console port, told which VM by the preconnection blob (its VM id)
            line(b, "server port:i:" + c.port());
            line(b, "pcb:s:" + sanitize(c.preconnectionBlob()));
        }
        if (gatewayHost != null && !gatewayHost.isBlank()) {
            line(b, "gatewayhostname:s:" + gatewayHost);
            line(b, "gatewayusagemethod:i:1");
            line(b, "gatewaycredentialssource:i:5");
            line(b, "gatewayaccesstoken:s:" + c.ticket());
        }
        return b.toString();
    }

    /** A virt-viewer file for SPICE or VNC; remote-viewer deletes it after reading because it holds the ticket. */
    public static String vv(Connection c, Instant now) {
        long seconds = Math.max(1, Duration.between(now, c.expiresAt()).toSeconds());
        StringBuilder b = new StringBuilder();
        line(b, "[virt-viewer]");
        line(b, "type=" + ("vnc".equals(c.protocol()) ? "vnc" : "spice"));
        line(b, "host=" + c.host());
        line(b, "port=" + c.port());
        line(b, "password=" + c.ticket());
        line(b, "title=" + sanitize(c.title()));
        line(b, "delete-this-file=1");
        line(b, "fullscreen=0");
        line(b, "# ticket valid for " + seconds + " s");
        return b.toString();
    }

    private static void line(StringBuilder b, String s) {
        b.append(s).append("\r\n");
    }

    /** Keeps user-controlled text on one line of the file. */
    private static String sanitize(String s) {
        return s == null ? "" : s.replaceAll("[\\r\\n]", " ");
    }
}
