package org.vdibroker.desktop;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.vdibroker.persistence.Database;
import org.vdibroker.persistence.Outbox;

/**
 * The durable desktop inventory in the database: what the broker created, so live state can be rebuilt. Changes go
 * through the cluster's outbox (one entry per desktop, changes folded in order), so the database may be down.
 */
@ApplicationScoped
public class DesktopInventory {

    private static final String KEY_PREFIX = "desktop:";

    @Inject
    Database database;

    @Inject
    Outbox outbox;

    Clock clock = Clock.systemUTC();

    /** A new desktop: its row is written from the outbox. */
    public void add(DesktopEntity desktop) {
        InventoryChange.Created row = new InventoryChange.Created(desktop.poolId, desktop.hypervisorId, desktop.name,
                desktop.publication, desktop.agentSecretHash, clock.instant());
        change(desktop.id, c -> c.withCreated(row));
    }

    public void setVmRef(String desktopId, String vmRef) {
        change(desktopId, c -> c.withVmRef(vmRef));
    }

    /**
     * The agent secret the desktop's guest gets at its refresh (its hash: the secret itself is never stored). From now
     * on only the new secret is accepted.
     */
    public void setAgentSecretHash(String desktopId, String agentSecretHash) {
        change(desktopId, c -> c.withAgentSecretHash(agentSecretHash));
    }

    /**
     * The user a dedicated desktop belongs to from now on (their subject, and their name to show), so a whole-cluster
     * restart can give it back to them.
     */
    public void setOwner(String desktopId, String owner, String ownerSubject) {
        change(desktopId, c -> c.withOwner(owner, ownerSubject));
    }

    /** The desktop is gone; it no longer belongs to anyone. */
    public void retired(String desktopId) {
        Instant now = clock.instant();
        change(desktopId, c -> c.withRetiredAt(now));
    }

    /** The row as it will be once what waits in the outbox is written; a new desktop's is found before that. */
    public Optional<DesktopEntity> find(String desktopId) {
        Optional<InventoryChange> waiting = outbox.waiting(KEY_PREFIX + desktopId, InventoryChange.class);
        DesktopEntity row = waiting.map(InventoryChange::newRow).orElse(null);
        if (row == null) {
            row = stored(desktopId);
            if (row == null) {
                return Optional.empty();
            }
        }
        DesktopEntity found = row;
        waiting.ifPresent(c -> c.applyTo(found));
        return Optional.of(found);
    }

    @Transactional
    DesktopEntity stored(String desktopId) {
        DesktopEntity e = database.session().find(DesktopEntity.class, desktopId);
        if (e != null) {
            database.session().detach(e); // callers may see waiting changes applied; they must not reach the table
        }
        return e;
    }

    private void change(String desktopId, UnaryOperator<InventoryChange> change) {
        outbox.fold(KEY_PREFIX + desktopId, InventoryChange.class,
                c -> change.apply(c == null ? InventoryChange.none(desktopId) : c));
    }

    /** Desktops of the pool that were made and not retired, as the database has them. */
    @Transactional
    public List<DesktopEntity> active(String poolId) {
        return database.session()
                .createSelectionQuery("from DesktopEntity where poolId = :pool and retiredAt is null",
                        DesktopEntity.class)
                .setParameter("pool", poolId).getResultList();
    }
}
