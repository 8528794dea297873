package org.vdibroker.protocol;

import java.io.Serializable;
import java.time.Instant;

/** A connection ticket as stored: keyed by the SHA-256 of the ticket, so the cache never holds the ticket itself. */
public record TicketState(String sessionId, String desktopId, String user, String protocol, Instant expiresAt)
        implements Serializable {
}
