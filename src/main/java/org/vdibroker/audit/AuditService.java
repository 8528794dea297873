package org.vdibroker.audit;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.jboss.logging.Logger;
import org.vdibroker.persistence.Database;

/**
 * Records audit events without putting the database on the request path: events go to an outbox and are written
 * in batches; while the database is down they wait and are written when it returns. The outbox is per node and in
 * memory here; the cluster issue moves it into the replicated cache so a node's death loses none.
 */
@ApplicationScoped
public class AuditService {

    private static final Logger LOG = Logger.getLogger(AuditService.class);
    private static final int BATCH = 500;

    @Inject
    Database database;

    Clock clock = Clock.systemUTC();

    private final ConcurrentLinkedQueue<AuditEvent> outbox = new ConcurrentLinkedQueue<>();

    public void record(String kind, String actor, String poolId, String desktopId, String sessionId, String detail) {
        outbox.add(new AuditEvent(UUID.randomUUID().toString(), clock.instant(), kind, actor, poolId, desktopId,
                sessionId, detail == null ? null : detail.substring(0, Math.min(detail.length(), 2000))));
    }

    public int pending() {
        return outbox.size();
    }

    @Scheduled(every = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    public void flush() {
        while (!outbox.isEmpty()) {
            List<AuditEvent> batch = new ArrayList<>();
            for (AuditEvent e : outbox) {
                batch.add(e);
                if (batch.size() == BATCH) {
                    break;
                }
            }
            try {
                write(batch);
            } catch (RuntimeException e) {
                LOG.warnf("Audit events wait in the outbox (%d): %s", outbox.size(), e.getMessage());
                return;
            }
            outbox.removeAll(batch);
        }
    }

    @Transactional
    void write(List<AuditEvent> batch) {
        var session = database.session();
        for (AuditEvent e : batch) {
            if (session.find(AuditEventEntity.class, e.id()) != null) {
                continue; // written before a failure removed it from the outbox
            }
            AuditEventEntity entity = new AuditEventEntity();
            entity.id = e.id();
            entity.occurredAt = e.occurredAt();
            entity.kind = e.kind();
            entity.actor = e.actor();
            entity.poolId = e.poolId();
            entity.desktopId = e.desktopId();
            entity.sessionId = e.sessionId();
            entity.detail = e.detail();
            session.persist(entity);
        }
    }

    /** Newest first; includes what still waits in this node's outbox. */
    public List<AuditEvent> page(int page, int size) {
        flush();
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

    void onStop(@Observes ShutdownEvent event) {
        try {
            flush();
        } catch (RuntimeException e) {
            LOG.warnf("%d audit events could not be written before shutdown", outbox.size());
        }
    }
}
