package org.vdibroker.hypervisor;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.DefinitionCache;
import org.vdibroker.cluster.DefinitionCache.Versioned;
import org.vdibroker.cluster.DefinitionSource;
import org.vdibroker.persistence.Database;
import org.vdibroker.security.SecretCipher;

/**
 * The hypervisors this node talks to, and one driver per hypervisor, created by the factory of its driver type.
 * Reloaded after admin changes and every few seconds; a changed definition gets a new driver. What is read from the
 * database is published to the cluster's definitions cache; while the database does not answer, the definitions
 * come from that cache, so a node that starts during an outage still knows every hypervisor.
 */
@ApplicationScoped
public class HypervisorRegistry {

    private static final Logger LOG = Logger.getLogger(HypervisorRegistry.class);
    private static final TypeReference<Map<String, String>> MAP = new TypeReference<>() {
    };

    @Inject
    Database database;

    @Inject
    Instance<HypervisorDriverFactory> factories;

    @Inject
    SecretCipher cipher;

    @Inject
    ObjectMapper json;

    @Inject
    EmbeddedCacheManager manager;

    private volatile Map<String, Hypervisor> hypervisors = Map.of();
    private final Map<String, LiveDriver> drivers = new ConcurrentHashMap<>();
    /** Held by a round (reload) and by a connect between rounds, so the two never change the drivers at once. */
    private final ReentrantLock rounds = new ReentrantLock();
    private volatile DefinitionCache<HypervisorCacheEntry> definitions;
    private volatile DefinitionSource source;

    private record LiveDriver(long version, HypervisorDriver driver) {
    }

    public Optional<HypervisorDriverFactory> factory(String driverType) {
        return factories.stream().filter(f -> f.id().equals(driverType)).findFirst();
    }

    public Collection<Hypervisor> all() {
        return hypervisors.values();
    }

    public Optional<Hypervisor> get(String id) {
        return Optional.ofNullable(hypervisors.get(id));
    }

    public Optional<HypervisorDriver> driver(String hypervisorId) {
        LiveDriver live = drivers.get(hypervisorId);
        if (live == null) {
            live = connectPublished(hypervisorId);
        }
        return live == null ? Optional.empty() : Optional.of(live.driver());
    }

    /**
     * A hypervisor another node defined since this node's last round (rounds come every 5 s): connected now from the
     * cluster's definitions cache (a local read, the cache is replicated), so a desktop on it is served instead of
     * refused until the next round. Never waits for a round under way, which reads the database (the caller may be
     * an event loop): that round connects it.
     */
    private LiveDriver connectPublished(String hypervisorId) {
        Versioned<HypervisorCacheEntry> published;
        try {
            published = definitions().get(hypervisorId);
        } catch (RuntimeException clusterUnavailable) {
            return null;
        }
        if (published == null || !rounds.tryLock()) {
            return null;
        }
        try {
            if (!drivers.containsKey(hypervisorId)) {
                HypervisorCacheEntry e = published.value();
                Hypervisor h = e.toModel();
                connect(e, h, null);
                Map<String, Hypervisor> with = new HashMap<>(hypervisors);
                with.put(h.id(), h);
                hypervisors = Map.copyOf(with);
                LOG.infof("Hypervisor %s connected before this node's next round: another node defined it", h.id());
            }
            return drivers.get(hypervisorId);
        } finally {
            rounds.unlock();
        }
    }

    void onStart(@Observes StartupEvent event) {
        reload();
    }

    @Scheduled(every = "5s", delayed = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void refresh() {
        try {
            reload();
        } catch (RuntimeException e) {
            LOG.warnf("Hypervisors not refreshed: %s", e.getMessage());
        }
    }

    /** Where the hypervisors this node uses came from in the last round; null before the first. */
    public DefinitionSource source() {
        return source;
    }

    /**
     * Reads the hypervisors from the database and publishes them to the cluster (database first, then the cache);
     * if the database does not answer, takes them from the cluster's cache instead.
     */
    // one round at a time: a scheduled reload that read the database before an admin's change must not publish its
    // older view after the reload that change made (a pool just created was "not found" for a moment)
    public void reload() {
        rounds.lock();
        try {
            round();
        } finally {
            rounds.unlock();
        }
    }

    private void round() {
        DefinitionCache.Round<HypervisorCacheEntry> round = definitions().refresh("hypervisor", source,
                () -> QuarkusTransaction.requiringNew().call(() -> {
                    Map<String, Versioned<HypervisorCacheEntry>> read = new HashMap<>();
                    for (HypervisorEntity e : database.session()
                            .createSelectionQuery("from HypervisorEntity", HypervisorEntity.class).getResultList()) {
                        read.put(e.id, new Versioned<>(e.version, HypervisorCacheEntry.of(e)));
                    }
                    return read;
                }));
        source = round.source();
        use(round.definitions());
    }

    private void use(Map<String, Versioned<HypervisorCacheEntry>> current) {
        Map<String, Hypervisor> loaded = new HashMap<>();
        for (Versioned<HypervisorCacheEntry> v : current.values()) {
            HypervisorCacheEntry e = v.value();
            Hypervisor h = e.toModel();
            loaded.put(h.id(), h);
            LiveDriver live = drivers.get(h.id());
            if (live == null || live.version() != h.version()) {
                connect(e, h, live);
            }
        }
        drivers.keySet().removeIf(id -> {
            if (loaded.containsKey(id)) {
                return false;
            }
            drivers.get(id).driver().close();
            return true;
        });
        hypervisors = Map.copyOf(loaded);
    }

    private DefinitionCache<HypervisorCacheEntry> definitions() {
        DefinitionCache<HypervisorCacheEntry> d = definitions;
        if (d == null) {
            d = new DefinitionCache<>(manager.getCache(CacheNames.HYPERVISOR_DEFINITIONS));
            definitions = d;
        }
        return d;
    }

    private void connect(HypervisorCacheEntry e, Hypervisor h, LiveDriver previous) {
        Optional<HypervisorDriverFactory> factory = factory(h.driver());
        if (factory.isEmpty()) {
            LOG.errorf("Hypervisor %s uses unknown driver type %s", h.id(), h.driver());
            return;
        }
        try {
            HypervisorDriver driver = factory.get().create(definition(e));
            drivers.put(h.id(), new LiveDriver(h.version(), driver));
            if (previous != null) {
                previous.driver().close();
            }
        } catch (RuntimeException ex) {
            LOG.errorf("Cannot create driver for hypervisor %s: %s", h.id(), ex.getMessage());
        }
    }

    /** The full definition of a stored hypervisor, e.g. to check a template before any node runs its driver. */
    public HypervisorDefinition definition(HypervisorEntity e) {
        return definition(HypervisorCacheEntry.of(e));
    }

    /** The full definition a driver needs, credentials decrypted (only here, in this node's memory). */
    HypervisorDefinition definition(HypervisorCacheEntry e) {
        Map<String, String> credentials = e.credentialsEncrypted() == null ? Map.of()
                : readMap(cipher.decrypt(e.credentialsEncrypted(), e.id()));
        return new HypervisorDefinition(e.id(), e.driver(), e.endpoint(), readMap(e.configJson()), credentials,
                new HostCapacity(e.vcpus(), e.memoryMb(), e.maxDesktops()), e.concurrencyLimit());
    }

    Map<String, String> readMap(String text) {
        if (text == null || text.isBlank()) {
            return Map.of();
        }
        try {
            return json.readValue(text, MAP);
        } catch (Exception ex) {
            throw new IllegalStateException("stored hypervisor configuration is not a JSON object");
        }
    }
}
