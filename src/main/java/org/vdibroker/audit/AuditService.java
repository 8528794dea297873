package org.vdibroker.audit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import org.vdibroker.persistence.Database;
import org.vdibroker.persistence.Outbox;

/**
 * Records audit events without putting the database on the request path: events go to the cluster's outbox and are
 * written from there in batches; while the database is down they wait, and a node's death loses none.
 */
@ApplicationScoped
public class AuditService {

    private static final String KEY_PREFIX = "audit:";

    @Inject
    Database database;

    @Inject
    Outbox outbox;

    Clock clock = Clock.systemUTC();

    public void record(String kind, String actor, String poolId, String desktopId, String sessionId, String detail) {
        // an id this node's outbox owns: the entry is one copy to its backup, on the desktop request's path
        String key = outbox.localKey(() -> KEY_PREFIX + UUID.randomUUID());
        String id = key.substring(KEY_PREFIX.length());
        outbox.add(key, new AuditEvent(id, clock.instant(), kind, actor, poolId, desktopId, sessionId,
                detail == null ? null : detail.substring(0, Math.min(detail.length(), 2000))));
    }

    /**
     * Newest first, from the database. What this node is to write is written first; events recorded through other
     * nodes in the last second may still wait in the outbox.
     */
    public List<AuditEvent> page(int page, int size) {
        outbox.flush();
        return query(page, size);
    }

    @Transactional
    List<AuditEvent> query(int page, int size) {
        return database.session()
                .createSelectionQuery("from AuditEventEntity order by occurredAt desc, id", AuditEventEntity.class)
                .setFirstResult(page * size).setMaxResults(size).getResultList().stream()
                .map(e -> new AuditEvent(e.id, e.occurredAt, e.kind, e.actor, e.poolId, e.desktopId, e.sessionId,
                        e.detail))
                .toList();
    }
}
