package org.vdibroker.desktop;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.vdibroker.persistence.Database;

/** The durable desktop inventory in the database: what the broker created, so live state can be rebuilt. */
@ApplicationScoped
public class DesktopInventory {

    @Inject
    Database database;

    Clock clock = Clock.systemUTC();

    @Transactional
    public void add(DesktopEntity desktop) {
        desktop.createdAt = clock.instant();
        database.session().persist(desktop);
    }

    @Transactional
    public void setVmRef(String desktopId, String vmRef) {
        DesktopEntity e = database.session().find(DesktopEntity.class, desktopId);
        if (e != null) {
            e.vmRef = vmRef;
        }
    }

    @Transactional
    public void retired(String desktopId) {
        DesktopEntity e = database.session().find(DesktopEntity.class, desktopId);
        if (e != null && e.retiredAt == null) {
            e.retiredAt = clock.instant();
        }
    }

    /** Desktops of the pool that were made and not retired: what the broker believes exists. */
    @Transactional
    public List<DesktopEntity> active(String poolId) {
        return database.session()
                .createSelectionQuery("from DesktopEntity where poolId = :pool and retiredAt is null",
                        DesktopEntity.class)
                .setParameter("pool", poolId).getResultList();
    }

    @Transactional
    public Optional<DesktopEntity> find(String desktopId) {
        return Optional.ofNullable(database.session().find(DesktopEntity.class, desktopId));
    }
}
