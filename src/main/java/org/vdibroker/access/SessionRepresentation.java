package org.vdibroker.access;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/** A session as the API shows it; {@code endReason} says why an ENDED one ended (e.g. idle-timeout). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SessionRepresentation(String id, String poolId, String user, String desktopId, String state,
        Integer queuePosition, Long etaSeconds, Instant createdAt, ConnectionRepresentation connection,
        String endReason) {
}
