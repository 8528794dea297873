package org.vdibroker.protocol;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * Renders connection files that clients open: {@code .rdp} (mstsc, FreeRDP, Remmina) and virt-viewer {@code .vv}
 * (remote-viewer, SPICE or VNC). What the broker must write (address, user, ticket) comes first; then the pool's
 * settings over the schema's defaults ({@link ConnectionSettingsSchema}).
 */
public final class ConnectionFiles {

    public static final String RDP_MEDIA_TYPE = "application/x-rdp";
    public static final String VV_MEDIA_TYPE = "application/x-virt-viewer";

    private ConnectionFiles() {
    }

    /**
     * An RDP file, unsigned. The ticket travels as the RD Gateway access token when a gateway is configured (the
     * gateway checks it with the broker); without one the desktop's own logon applies and the file carries no
     * secret.
     */
    public static RdpFile rdp(Connection c, String gatewayHost, ConnectionSettings settings) {
        RdpFile f = new RdpFile();
        f.set("full address", c.host() + ":" + c.port());
        f.set("username", c.user());
        ConnectionSettingsSchema schema = ConnectionSettingsSchema.get();
        schema.effective("rdp", (settings == null ? ConnectionSettings.NONE : settings).rdp())
                .forEach((name, value) -> f.set(name, schema.rdpType(name), value));
        if (c.preconnectionBlob() != null) {
            // Hyper-V VMConnect: the host's console port, told which VM by the preconnection blob (its VM id)
            f.set("server port", c.port());
            f.set("pcb", c.preconnectionBlob());
        }
        if (gatewayHost != null && !gatewayHost.isBlank()) {
            f.set("gatewayhostname", gatewayHost);
            f.set("gatewayusagemethod", 1);
            f.set("gatewayprofileusagemethod", 1);
            f.set("gatewaycredentialssource", 5); // token authentication: the access token below
            f.set("gatewayaccesstoken", c.ticket());
        }
        return f;
    }

    /** A virt-viewer file for SPICE or VNC; remote-viewer deletes it after reading because it holds the ticket. */
    public static String vv(Connection c, Instant now, ConnectionSettings settings) {
        long seconds = Math.max(1, Duration.between(now, c.expiresAt()).toSeconds());
        StringBuilder b = new StringBuilder();
        line(b, "[virt-viewer]");
        line(b, "type=" + ("vnc".equals(c.protocol()) ? "vnc" : "spice"));
        line(b, "host=" + c.host());
        line(b, "port=" + c.port());
        line(b, "password=" + c.ticket());
        line(b, "title=" + sanitize(c.title()));
        line(b, "delete-this-file=1");
        Map<String, String> effective = ConnectionSettingsSchema.get()
                .effective("vv", (settings == null ? ConnectionSettings.NONE : settings).vv());
        effective.forEach((name, value) -> line(b, name + "=" + vvValue(name, value)));
        line(b, "# ticket valid for " + seconds + " s");
        return b.toString();
    }

    /** virt-viewer reads a CA certificate from one line, its line breaks written as {@code \n}. */
    private static String vvValue(String name, String value) {
        if ("ca".equals(name)) {
            return value.strip().replace("\r\n", "\n").replace("\n", "\\n");
        }
        return sanitize(value);
    }

    private static void line(StringBuilder b, String s) {
        b.append(s).append("\r\n");
    }

    /** Keeps user-controlled text on one line of the file. */
    private static String sanitize(String s) {
        return s == null ? "" : s.replaceAll("[\\r\\n\\x00]", " ");
    }
}
