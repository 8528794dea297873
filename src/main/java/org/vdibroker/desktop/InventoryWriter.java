package org.vdibroker.desktop;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.hibernate.Session;
import org.jboss.logging.Logger;
import org.vdibroker.persistence.OutboxWriter;

/** Writes desktop inventory changes from the outbox: creates the row if it is missing, then sets what changed. */
@ApplicationScoped
public class InventoryWriter implements OutboxWriter<InventoryChange> {

    private static final Logger LOG = Logger.getLogger(InventoryWriter.class);

    @Override
    public Class<InventoryChange> type() {
        return InventoryChange.class;
    }

    @Override
    public void write(Session session, List<InventoryChange> changes) {
        Map<String, DesktopEntity> rows = session
                .createSelectionQuery("from DesktopEntity where id in :ids", DesktopEntity.class)
                .setParameter("ids", changes.stream().map(InventoryChange::desktopId).toList()).getResultList()
                .stream().collect(Collectors.toMap(d -> d.id, Function.identity()));
        for (InventoryChange change : changes) {
            DesktopEntity row = rows.get(change.desktopId());
            if (row == null) {
                row = change.newRow();
                if (row == null) {
                    // only desktops the broker created have changes, and their creation is written first
                    LOG.warnf("Inventory change for desktop %s that has no row; dropped", change.desktopId());
                    continue;
                }
                session.persist(row);
                rows.put(row.id, row);
            }
            change.applyTo(row);
        }
    }
}
