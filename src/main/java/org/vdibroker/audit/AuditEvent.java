package org.vdibroker.audit;

import java.io.Serializable;
import java.time.Instant;
import org.infinispan.protostream.annotations.ProtoFactory;
import org.infinispan.protostream.annotations.ProtoField;
import org.vdibroker.cluster.WireInstant;

/** Something that happened, for the audit log. Never carries secrets. Waits in the outbox until it is written. */
public record AuditEvent(@ProtoField(number = 1) String id, Instant occurredAt, @ProtoField(number = 3) String kind,
        @ProtoField(number = 4) String actor, @ProtoField(number = 5) String poolId,
        @ProtoField(number = 6) String desktopId, @ProtoField(number = 7) String sessionId,
        @ProtoField(number = 8) String detail) implements Serializable {

    /** Read from ProtoStream: {@code occurredAt} travels as a {@link WireInstant} (field 2). */
    @ProtoFactory
    static AuditEvent proto(String id, WireInstant wireOccurredAt, String kind, String actor, String poolId,
            String desktopId, String sessionId, String detail) {
        return new AuditEvent(id, WireInstant.instant(wireOccurredAt), kind, actor, poolId, desktopId, sessionId,
                detail);
    }

    @ProtoField(number = 2)
    WireInstant wireOccurredAt() {
        return WireInstant.of(occurredAt);
    }
}
