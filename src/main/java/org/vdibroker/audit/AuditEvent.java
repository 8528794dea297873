package org.vdibroker.audit;

import java.io.Serializable;
import java.time.Instant;

/** Something that happened, for the audit log. Never carries secrets. Waits in the outbox until it is written. */
public record AuditEvent(String id, Instant occurredAt, String kind, String actor, String poolId, String desktopId,
        String sessionId, String detail) implements Serializable {
}
