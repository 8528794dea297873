package org.vdibroker.audit;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.hibernate.Session;
import org.vdibroker.persistence.OutboxWriter;

/** Writes audit events from the outbox: each once, by its id, however often it is handed over. */
@ApplicationScoped
public class AuditEventWriter implements OutboxWriter<AuditEvent> {

    @Override
    public Class<AuditEvent> type() {
        return AuditEvent.class;
    }

    @Override
    public void write(Session session, List<AuditEvent> events) {
        Set<String> written = new HashSet<>(session
                .createSelectionQuery("select id from AuditEventEntity where id in :ids", String.class)
                .setParameter("ids", events.stream().map(AuditEvent::id).toList()).getResultList());
        for (AuditEvent e : events) {
            if (!written.add(e.id())) {
                continue; // written before, by a round that failed before it could remove the event
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
}
