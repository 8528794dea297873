package org.vdibroker.pool;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.DefinitionCache;
import org.vdibroker.cluster.DefinitionCache.Versioned;
import org.vdibroker.cluster.DefinitionSource;
import org.vdibroker.persistence.Database;

/**
 * The pools every node serves from memory, with their templates and entitlements. Reloaded from the database after
 * an admin change on this node and every few seconds (changes made through other nodes), and published to the
 * cluster's definitions cache; while the database does not answer they come from that cache, so a node that starts
 * during an outage serves every pool too.
 */
@ApplicationScoped
public class PoolCatalog {

    private static final Logger LOG = Logger.getLogger(PoolCatalog.class);

    @Inject
    Database database;

    @Inject
    EmbeddedCacheManager manager;

    private volatile Map<String, Pool> pools = Map.of();
    private volatile DefinitionCache<Pool> definitions;
    private volatile DefinitionSource source;

    public Optional<Pool> get(String id) {
        return Optional.ofNullable(pools.get(id));
    }

    public Collection<Pool> all() {
        return pools.values();
    }

    /** Where the pools this node serves came from in the last round; null before the first. */
    public DefinitionSource source() {
        return source;
    }

    void onStart(@Observes StartupEvent event) {
        reload();
    }

    /** Reads the pools from the database and publishes them (database first, then the cache), or takes the cache's. */
    // synchronized: a scheduled reload that read the database before an admin's change must not publish its older
    // view after the reload that change made (a pool just created was "not found" for a moment)
    public synchronized void reload() {
        DefinitionCache.Round<Pool> round = definitions().refresh("pool", source,
                () -> QuarkusTransaction.requiringNew().call(() -> {
                    Map<String, Versioned<Pool>> read = new HashMap<>();
                    for (PoolEntity e : database.session().createSelectionQuery("from PoolEntity", PoolEntity.class)
                            .getResultList()) {
                        read.put(e.id, new Versioned<>(e.version, Pool.of(e)));
                    }
                    return read;
                }));
        source = round.source();
        use(round.definitions());
    }

    private void use(Map<String, Versioned<Pool>> current) {
        Map<String, Pool> loaded = new LinkedHashMap<>();
        current.values().stream().map(Versioned::value).sorted(Comparator.comparing(Pool::id))
                .forEach(p -> loaded.put(p.id(), p));
        pools = java.util.Collections.unmodifiableMap(loaded);
    }

    private DefinitionCache<Pool> definitions() {
        DefinitionCache<Pool> d = definitions;
        if (d == null) {
            d = new DefinitionCache<>(manager.getCache(CacheNames.POOL_DEFINITIONS));
            definitions = d;
        }
        return d;
    }

    @Scheduled(every = "5s", delayed = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void refresh() {
        try {
            reload();
        } catch (RuntimeException e) {
            LOG.warnf("Pool catalog not refreshed: %s", e.getMessage());
        }
    }
}
