package org.vdibroker.audit;

import java.time.Instant;

/** Something that happened, for the audit log. Never carries secrets. */
public record AuditEvent(String id, Instant occurredAt, String kind, String actor, String poolId, String desktopId,
        String sessionId, String detail) {
}
