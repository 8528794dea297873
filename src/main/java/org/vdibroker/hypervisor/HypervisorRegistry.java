package org.vdibroker.hypervisor;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;
import org.vdibroker.persistence.Database;
import org.vdibroker.security.SecretCipher;

/**
 * The hypervisors this node talks to, and one driver per hypervisor, created by the factory of its driver type.
 * Reloaded after admin changes and every few seconds; a changed definition gets a new driver.
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

    private volatile Map<String, Hypervisor> hypervisors = Map.of();
    private final Map<String, LiveDriver> drivers = new ConcurrentHashMap<>();

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
        return live == null ? Optional.empty() : Optional.of(live.driver());
    }

    void onStart(@Observes StartupEvent event) {
        reload();
    }

    @Scheduled(every = "5s", delayed = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void refresh() {
        try {
            reload();
        } catch (RuntimeException e) {
            LOG.warnf("Hypervisors not refreshed (database unavailable?): %s", e.getMessage());
        }
    }

    @Transactional
    public void reload() {
        Map<String, Hypervisor> loaded = new HashMap<>();
        for (HypervisorEntity e : database.session()
                .createSelectionQuery("from HypervisorEntity", HypervisorEntity.class).getResultList()) {
            Hypervisor h = toModel(e);
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

    private void connect(HypervisorEntity e, Hypervisor h, LiveDriver previous) {
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

    /** The full definition a driver needs, credentials decrypted. */
    public HypervisorDefinition definition(HypervisorEntity e) {
        Map<String, String> credentials = e.credentialsEncrypted == null ? Map.of()
                : readMap(cipher.decrypt(e.credentialsEncrypted));
        return new HypervisorDefinition(e.id, e.driver, e.endpoint, readMap(e.configJson), credentials,
                new HostCapacity(e.vcpus, e.memoryMb, e.maxDesktops), e.concurrencyLimit);
    }

    static Hypervisor toModel(HypervisorEntity e) {
        return new Hypervisor(e.id, e.driver, e.endpoint, new HostCapacity(e.vcpus, e.memoryMb, e.maxDesktops),
                e.concurrencyLimit, e.cpuOvercommit, e.memoryOvercommit, e.maintenance, e.version);
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
