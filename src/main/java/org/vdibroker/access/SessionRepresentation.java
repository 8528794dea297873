package org.vdibroker.access;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;

/**
 * A session as the API shows it. {@code endReason} once ENDED, e.g. {@code logoff}, {@code abandoned},
 * {@code idle-timeout}, {@code disconnect-timeout}, or {@code desktop-lost} (its hypervisor stopped answering or its
 * VM vanished; ask again for another desktop). {@code waitingFor} while QUEUED: why no desktop is coming (the pool
 * cannot provision: no capacity, template missing, network inactive, repeated failures); the ETA is then left out,
 * since no estimate holds.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SessionRepresentation(String id, String poolId, String user, String desktopId, String state,
        Integer queuePosition, Long etaSeconds, Instant createdAt, ConnectionRepresentation connection,
        String endReason, String waitingFor) {
}
