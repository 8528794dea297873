package org.vdibroker.session;

import java.io.Serializable;
import java.time.Instant;

/**
 * A session, the value of its entry in the {@code sessions} cache. Immutable and versioned like DesktopState;
 * {@code queueTicket} orders waiting sessions of a pool (first come, first served).
 */
public record SessionState(String id, String poolId, String user, SessionStatus status, String desktopId,
        String protocol, long queueTicket, Instant createdAt, Instant changedAt, Instant lastSeenAt, String endReason,
        long version) implements Serializable {

    public SessionState withStatus(SessionStatus status, String desktopId, Instant now) {
        return new SessionState(id, poolId, user, status, desktopId, protocol, queueTicket, createdAt, now,
                lastSeenAt, endReason, version + 1);
    }

    public SessionState ended(String reason, Instant now) {
        return new SessionState(id, poolId, user, SessionStatus.ENDED, desktopId, protocol, queueTicket, createdAt,
                now, lastSeenAt, reason, version + 1);
    }

    public SessionState seen(Instant now) {
        return new SessionState(id, poolId, user, status, desktopId, protocol, queueTicket, createdAt, changedAt, now,
                endReason, version + 1);
    }
}
