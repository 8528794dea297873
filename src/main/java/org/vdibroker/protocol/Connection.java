package org.vdibroker.protocol;

import java.time.Instant;

/**
 * Everything a client needs to open one connection: where, how, and the one-time ticket. {@code preconnectionBlob}
 * (RDP only, may be null) is sent before the connection, e.g. the VM id for Hyper-V VMConnect.
 */
public record Connection(String protocol, String host, int port, String ticket, Instant expiresAt, String user,
        String title, String preconnectionBlob) {

    public Connection(String protocol, String host, int port, String ticket, Instant expiresAt, String user,
            String title) {
        this(protocol, host, port, ticket, expiresAt, user, title, null);
    }

    @Override
    public String toString() {
        return "Connection[protocol=" + protocol + ", host=" + host + ", port=" + port + "]";
    }
}
