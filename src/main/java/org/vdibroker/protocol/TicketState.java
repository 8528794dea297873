package org.vdibroker.protocol;

import java.io.Serializable;
import java.time.Instant;
import org.infinispan.protostream.annotations.ProtoFactory;
import org.infinispan.protostream.annotations.ProtoField;
import org.vdibroker.cluster.WireInstant;

/**
 * A connection ticket as stored: keyed by the SHA-256 of the ticket, so the cache never holds the ticket itself.
 * {@code subject} is whose session it was issued for (what a redeemer checks the session against); {@code user} is
 * their name, to show.
 */
public record TicketState(@ProtoField(number = 1) String sessionId, @ProtoField(number = 2) String desktopId,
        @ProtoField(number = 3) String subject, @ProtoField(number = 4) String user,
        @ProtoField(number = 5) String protocol, Instant expiresAt) implements Serializable {

    /** Read from ProtoStream: {@code expiresAt} travels as a {@link WireInstant} (field 6). */
    @ProtoFactory
    static TicketState proto(String sessionId, String desktopId, String subject, String user, String protocol,
            WireInstant wireExpiresAt) {
        return new TicketState(sessionId, desktopId, subject, user, protocol, WireInstant.instant(wireExpiresAt));
    }

    @ProtoField(number = 6)
    WireInstant wireExpiresAt() {
        return WireInstant.of(expiresAt);
    }
}
