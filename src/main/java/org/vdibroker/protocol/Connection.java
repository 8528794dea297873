package org.vdibroker.protocol;

import java.time.Instant;

/** Everything a client needs to open one connection: where, how, and the one-time ticket. */
public record Connection(String protocol, String host, int port, String ticket, Instant expiresAt, String user,
        String title, String url) {

    /** {@code url}: a link the client opens instead (VMware's vmrc://), null for host-and-port protocols. */
    public Connection(String protocol, String host, int port, String ticket, Instant expiresAt, String user,
            String title) {
        this(protocol, host, port, ticket, expiresAt, user, title, null);
    }

    @Override
    public String toString() {
        return "Connection[protocol=" + protocol + ", host=" + host + ", port=" + port + "]";
    }
}
