package org.vdibroker.audit;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** One audit event as stored. */
@Entity
@Table(name = "audit_event")
public class AuditEventEntity {

    @Id
    public String id;

    @Column(name = "occurred_at", nullable = false)
    public Instant occurredAt;

    @Column(nullable = false)
    public String kind;

    public String actor;

    @Column(name = "pool_id")
    public String poolId;

    @Column(name = "desktop_id")
    public String desktopId;

    @Column(name = "session_id")
    public String sessionId;

    @Column(length = 2000)
    public String detail;
}
