package org.vdibroker.hypervisor;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;
import org.vdibroker.api.ProblemException;
import org.vdibroker.audit.AuditService;
import org.vdibroker.persistence.Database;
import org.vdibroker.security.SecretCipher;

/** Admin operations on hypervisor definitions; credentials are encrypted before they reach the database. */
@ApplicationScoped
public class HypervisorService {

    @Inject
    Database database;
    @Inject
    HypervisorRegistry registry;
    @Inject
    SecretCipher cipher;
    @Inject
    ObjectMapper json;
    @Inject
    AuditService audit;
    @Inject
    org.vdibroker.desktop.DesktopInventory inventory;

    private static final Logger LOG = Logger.getLogger(HypervisorService.class);

    Clock clock = Clock.systemUTC();

    /**
     * Re-seals stored credentials that are not under the current {@code broker.secrets.key} (after a key rotation,
     * or from the format without associated data). Runs shortly after start and then now and then, so a node that
     * started while the database was down catches up; a no-op once every value is current.
     */
    @Scheduled(every = "10m", delayed = "20s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void resealCredentialsNowAndThen() {
        try {
            resealCredentials();
        } catch (RuntimeException e) { // the database is down: the next round does it
            LOG.warnf("Could not re-seal hypervisor credentials yet: %s", e.getMessage());
        }
    }

    @Transactional
    int resealCredentials() {
        List<HypervisorEntity> stale = database.session()
                .createSelectionQuery("from HypervisorEntity where credentialsEncrypted is not null",
                        HypervisorEntity.class)
                .getResultList().stream().filter(e -> !cipher.isCurrent(e.credentialsEncrypted)).toList();
        for (HypervisorEntity e : stale) {
            e.credentialsEncrypted = cipher.encrypt(cipher.decrypt(e.credentialsEncrypted, e.id), e.id);
        }
        if (!stale.isEmpty()) {
            LOG.infof("Re-sealed the credentials of %d hypervisor(s) under the current secrets key", stale.size());
        }
        return stale.size();
    }

    @Transactional
    public List<HypervisorRepresentation> list() {
        return database.session().createSelectionQuery("from HypervisorEntity order by id", HypervisorEntity.class)
                .getResultList().stream().map(this::toRepresentation).toList();
    }

    @Transactional
    public HypervisorRepresentation get(String id) {
        return toRepresentation(find(id));
    }

    public HypervisorRepresentation create(HypervisorRepresentation r, String actor) {
        HypervisorRepresentation created = createInTx(r, checked(r.id(), r, Map.of()));
        registry.reload();
        audit.record("hypervisor.created", actor, null, null, null, r.id());
        return created;
    }

    public HypervisorRepresentation update(String id, HypervisorRepresentation r, String actor) {
        if (r.id() != null && !r.id().equals(id)) {
            throw ProblemException.invalid("the id in the body differs from the id in the path");
        }
        HypervisorRepresentation updated = updateInTx(id, r, checked(id, r, storedCredentialsInTx(id, r)));
        registry.reload();
        audit.record("hypervisor.updated", actor, null, null, null, id);
        return updated;
    }

    public HypervisorRepresentation maintenance(String id, boolean on, String actor) {
        HypervisorRepresentation updated = setMaintenance(id, on);
        registry.reload();
        audit.record(on ? "hypervisor.maintenance-on" : "hypervisor.maintenance-off", actor, null, null, null, id);
        return updated;
    }

    public void delete(String id, String actor) {
        deleteInTx(id);
        registry.reload();
        audit.record("hypervisor.deleted", actor, null, null, null, id);
    }

    @Transactional
    HypervisorRepresentation createInTx(HypervisorRepresentation r, HypervisorDefinition checked) {
        if (database.session().find(HypervisorEntity.class, r.id()) != null) {
            throw ProblemException.conflict("hypervisor " + r.id() + " exists");
        }
        HypervisorEntity e = new HypervisorEntity();
        e.id = r.id();
        e.createdAt = clock.instant();
        copy(e, r, checked);
        database.session().persist(e);
        return toRepresentation(e);
    }

    /** The credentials stored for the hypervisor (a read: the live check that follows holds no transaction). */
    @Transactional
    Map<String, String> storedCredentialsInTx(String id, HypervisorRepresentation r) {
        HypervisorEntity e = findOfDriver(id, r.driver());
        return e.credentialsEncrypted == null ? Map.of()
                : registry.readMap(cipher.decrypt(e.credentialsEncrypted, e.id));
    }

    @Transactional
    HypervisorRepresentation updateInTx(String id, HypervisorRepresentation r, HypervisorDefinition checked) {
        HypervisorEntity e = findOfDriver(id, r.driver()); // again: it may have been replaced since the read
        copy(e, r, checked);
        return toRepresentation(e);
    }

    @Transactional
    HypervisorRepresentation setMaintenance(String id, boolean on) {
        HypervisorEntity e = find(id);
        e.maintenance = on;
        e.updatedAt = clock.instant();
        return toRepresentation(e);
    }

    @Transactional
    void deleteInTx(String id) {
        HypervisorEntity e = find(id);
        long templates = database.session()
                .createSelectionQuery("select count(t) from PoolTemplateEntity t where t.hypervisorId = :id",
                        Long.class)
                .setParameter("id", id).getSingleResult();
        // a retirement may still wait in the cluster's outbox (written within a second or so): it counts as done
        long desktops = database.session()
                .createSelectionQuery("select d.id from DesktopEntity d where d.hypervisorId = :id"
                        + " and d.retiredAt is null", String.class)
                .setParameter("id", id).getResultList().stream()
                .filter(desktopId -> inventory.find(desktopId).map(row -> row.retiredAt == null).orElse(false))
                .count();
        if (templates > 0 || desktops > 0) {
            throw new ProblemException(409, "hypervisor-in-use", "Hypervisor in use", "hypervisor " + id
                    + " still has " + templates + " pool templates and " + desktops + " desktops");
        }
        database.session().remove(e);
    }

    /** The hypervisor, 404 if unknown, 400 if the update names another driver type than it has. */
    private HypervisorEntity findOfDriver(String id, String driver) {
        HypervisorEntity e = find(id);
        if (!e.driver.equals(driver)) {
            throw ProblemException.invalid("the driver type of a hypervisor cannot change; create a new one");
        }
        return e;
    }

    private HypervisorEntity find(String id) {
        HypervisorEntity e = database.session().find(HypervisorEntity.class, id);
        if (e == null) {
            throw ProblemException.notFound("Hypervisor", id);
        }
        return e;
    }

    /**
     * Asks the hypervisor itself whether its settings work (libvirt: the network exists and is active, the storage
     * pool too): 400 naming the field if not. A hypervisor that cannot be reached is saved anyway, with a warning in
     * the log and the audit ({@code hypervisor.unchecked}): it may be down only for now.
     */
    private void checkLive(HypervisorDriverFactory factory, HypervisorDefinition definition) {
        try {
            Map<String, String> problems = factory.checkLive(definition);
            if (!problems.isEmpty()) {
                throw new ProblemException(400, "invalid-hypervisor", "Invalid hypervisor",
                        String.join("; ", problems.values()), Map.copyOf(problems));
            }
        } catch (HypervisorException | LinkageError | IllegalStateException ex) {
            org.jboss.logging.Logger.getLogger(HypervisorService.class).warnf("Hypervisor %s saved unchecked: %s",
                    definition.id(), ex.getMessage());
            audit.record("hypervisor.unchecked", "hypervisor-service", null, null, null,
                    definition.id() + ": " + ex.getMessage());
        }
    }

    /**
     * Validates with the driver's factory and asks the hypervisor itself, outside any transaction (no database
     * connection is held while a hypervisor answers); credentials not given keep their stored values.
     *
     * @return the definition to save
     */
    private HypervisorDefinition checked(String id, HypervisorRepresentation r, Map<String, String> storedCredentials) {
        HypervisorDriverFactory factory = registry.factory(r.driver()).orElseThrow(() -> new ProblemException(400,
                "unknown-driver", "Unknown driver", "no hypervisor driver of type " + r.driver()));
        Set<String> secretNames = factory.properties().stream().filter(DriverProperty::secret)
                .map(DriverProperty::name).collect(Collectors.toSet());
        Map<String, String> config = r.config() == null ? Map.of() : r.config();
        for (String key : config.keySet()) {
            if (secretNames.contains(key)) {
                throw ProblemException.invalid("'" + key + "' is a credential: send it in credentials, not config");
            }
        }
        Map<String, String> credentials = new HashMap<>(storedCredentials);
        if (r.credentials() != null) {
            credentials.putAll(r.credentials());
        }
        HostCapacity capacity = new HostCapacity(r.capacity().vcpus(), r.capacity().memoryMb(),
                r.capacity().maxDesktops());
        HypervisorDefinition definition = new HypervisorDefinition(id, r.driver(), r.endpoint(), config,
                credentials, capacity);
        try {
            factory.validate(definition);
        } catch (InvalidHypervisorConfigException ex) {
            throw new ProblemException(400, "invalid-hypervisor", "Invalid hypervisor", ex.getMessage(),
                    Map.of(ex.property(), ex.getMessage()));
        }
        checkLive(factory, definition);
        return definition;
    }

    /** Copies a checked definition and the representation's settings into the row. */
    private void copy(HypervisorEntity e, HypervisorRepresentation r, HypervisorDefinition checked) {
        e.driver = checked.driver();
        e.endpoint = checked.endpoint();
        e.configJson = write(checked.config());
        e.credentialsEncrypted = checked.credentials().isEmpty() ? null
                : cipher.encrypt(write(checked.credentials()), e.id);
        e.vcpus = checked.capacity().vcpus();
        e.memoryMb = checked.capacity().memoryMb();
        e.maxDesktops = checked.capacity().maxDesktops();
        e.concurrencyLimit = r.concurrencyLimit() == null ? 20 : r.concurrencyLimit();
        e.cpuOvercommit = r.cpuOvercommit() == null ? 4.0 : r.cpuOvercommit();
        e.memoryOvercommit = r.memoryOvercommit() == null ? 1.0 : r.memoryOvercommit();
        e.maintenance = Boolean.TRUE.equals(r.maintenance());
        e.updatedAt = clock.instant();
    }

    private String write(Map<String, String> map) {
        try {
            return json.writeValueAsString(map);
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException(ex);
        }
    }

    HypervisorRepresentation toRepresentation(HypervisorEntity e) {
        return new HypervisorRepresentation(e.id, e.driver, e.endpoint, registry.readMap(e.configJson), null,
                new HypervisorRepresentation.Capacity(e.vcpus, e.memoryMb, e.maxDesktops), e.concurrencyLimit,
                e.cpuOvercommit, e.memoryOvercommit, e.maintenance, e.credentialsEncrypted != null, e.createdAt,
                e.updatedAt, null);
    }
}
