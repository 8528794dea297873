package org.vdibroker.pool;

import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.vdibroker.persistence.Database;

/**
 * The pools every node serves from memory. Reloaded from the database after an admin change on this node and
 * every few seconds (changes made through other nodes); when the database is down the last snapshot stays in use,
 * so brokering goes on.
 */
@ApplicationScoped
public class PoolCatalog {

    private static final Logger LOG = Logger.getLogger(PoolCatalog.class);

    @Inject
    Database database;

    private volatile Map<String, Pool> pools = Map.of();

    public Optional<Pool> get(String id) {
        return Optional.ofNullable(pools.get(id));
    }

    public Collection<Pool> all() {
        return pools.values();
    }

    void onStart(@jakarta.enterprise.event.Observes io.quarkus.runtime.StartupEvent event) {
        reload();
    }

    @Transactional
    public void reload() {
        Map<String, Pool> loaded = new LinkedHashMap<>();
        for (PoolEntity e : database.session().createSelectionQuery("from PoolEntity order by id", PoolEntity.class)
                .getResultList()) {
            loaded.put(e.id, Pool.of(e));
        }
        pools = Map.copyOf(loaded);
    }

    @Scheduled(every = "5s", delayed = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void refresh() {
        try {
            reload();
        } catch (RuntimeException e) {
            LOG.warnf("Pool catalog not refreshed (database unavailable?): %s", e.getMessage());
        }
    }
}
