package org.vdibroker.protocol;

import java.time.Instant;

/** Everything a client needs to open one connection: where, how, and the one-time ticket. */
public record Connection(String protocol, String host, int port, String ticket, Instant expiresAt, String user,
        String title) {

    @Override
    public String toString() {
        return "Connection[protocol=" + protocol + ", host=" + host + ", port=" + port + "]";
    }
}
