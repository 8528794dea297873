package org.vdibroker.protocol;

import java.io.Serializable;
import java.time.Instant;

/**
 * A connection ticket as stored: keyed by the SHA-256 of the ticket, so the cache never holds the ticket itself.
 * {@code subject} is whose session it was issued for (what a redeemer checks the session against); {@code user} is
 * their name, to show.
 */
public record TicketState(String sessionId, String desktopId, String subject, String user, String protocol,
        Instant expiresAt) implements Serializable {
}
