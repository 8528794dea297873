package org.vdibroker.desktop;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Clock;
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

    @Transactional
    public Optional<DesktopEntity> find(String desktopId) {
        return Optional.ofNullable(database.session().find(DesktopEntity.class, desktopId));
    }
}
