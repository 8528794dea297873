package org.vdibroker.pool;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Predicate;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;
import org.vdibroker.audit.AuditService;
import org.vdibroker.cluster.KeyOwnership;
import org.vdibroker.desktop.DesktopEntity;
import org.vdibroker.desktop.DesktopInventory;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopTransitions;
import org.vdibroker.hypervisor.DriverCalls;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.HypervisorHealth;
import org.vdibroker.hypervisor.ProvisionSpec;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.security.AgentSecrets;

/**
 * Creates a pool's new desktops: places each (Placement), records it, asks its hypervisor to clone it and writes it
 * PROVISIONING. Each creation waits on the hypervisor's answer and on a few cluster writes (about 100 ms on a busy
 * cluster of simulators, seconds on a saturated one), so they run {@code create-parallelism} at a time on their own
 * threads, and the pool manager's tick does not wait for them: when it did (a wave of 8 per tick), a cold storm's
 * saturated nodes made about one desktop a second while 200 hypervisor slots stood free. A desktop placed but not yet
 * written is counted here, against its pool's target and its host's room, until the desktops' states show it.
 */
@Singleton
public class DesktopCreation {

    private static final Logger LOG = Logger.getLogger(DesktopCreation.class);

    @Inject
    BrokerConfig config;
    @Inject
    Placement placement;
    @Inject
    HypervisorHealth health;
    @Inject
    DesktopInventory inventory;
    @Inject
    DesktopTransitions transitions;
    @Inject
    ProvisionBackoff backoff;
    @Inject
    ProvisionProblems problems;
    @Inject
    AuditService audit;
    @Inject
    KeyOwnership ownership;
    @Inject
    MeterRegistry meters;
    @Inject
    DesktopService desktops;

    Clock clock = Clock.systemUTC();

    private ExecutorService workers;
    private volatile boolean stopping;
    /** Desktops placed on this node and not yet written (or given up), per pool and per hypervisor. */
    private final Map<String, Integer> placedByPool = new ConcurrentHashMap<>();
    private final Map<String, Integer> placedByHypervisor = new ConcurrentHashMap<>();
    /** Desktops written here that the local index may not count yet, by id; they leave once it does. */
    private final Map<String, Written> unseen = new ConcurrentHashMap<>();

    /**
     * Names of the desktops whose VM this node is creating and whose desktop is not written yet: the reconciler must
     * not take such a VM for an unknown one (and retire it, if the pool says so) while its provision call runs.
     */
    final Set<String> naming = ConcurrentHashMap.newKeySet();

    private record Written(String poolId, String hypervisorId, String name, Instant at) {
    }

    @PostConstruct
    void start() {
        AtomicInteger n = new AtomicInteger();
        workers = Executors.newFixedThreadPool(parallelism(), task -> {
            Thread t = new Thread(task, "vdi-desktop-creation-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Early in shutdown, with the pool manager: creations not begun yet are dropped once the caches are to stop. */
    void onStop(@Observes @Priority(1) ShutdownEvent event) {
        stopping = true;
    }

    /** Creations under way finish; those not begun see {@code stopping} and give up their place. */
    @PreDestroy
    void stop() {
        workers.shutdown();
    }

    /**
     * Starts up to {@code count} new desktops of the pool and returns without waiting for them: places them in one
     * round, counting those this node placed earlier and is still creating, and hands them to the creation threads.
     * A creation that begins after this node stopped managing the pool, or after its template began to back off
     * (another provision on it failed), gives up its place; the next tick places again. {@code created} learns each
     * desktop created and when. The returned stage completes with all of them (in placement order).
     */
    CompletableFuture<Map<String, Instant>> create(Pool pool, long count, BiConsumer<String, Instant> created) {
        forgetIndexed();
        List<Pool.Template> placed = place(pool, count);
        if (!placed.isEmpty()) {
            problems.cleared(pool.id(), "no-capacity");
            problems.cleared(pool.id(), "no-hypervisor");
        }
        if (placed.size() < count) {
            LOG.debugf("Pool %s: no hypervisor has room for another desktop", pool.id());
            placement.whyNot(pool).ifPresent(p -> problems.noRoom(pool.id(), p));
        }
        List<CompletableFuture<Optional<Map.Entry<String, Instant>>>> calls = new ArrayList<>(placed.size());
        for (Pool.Template template : placed) {
            placedByPool.merge(pool.id(), 1, DesktopCreation::add);
            placedByHypervisor.merge(template.hypervisorId(), 1, DesktopCreation::add);
            try {
                calls.add(CompletableFuture.supplyAsync(() -> begin(pool, template, created), workers));
            } catch (RejectedExecutionException shuttingDown) {
                given(pool.id(), template.hypervisorId());
            }
        }
        return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).thenApply(x -> {
            Map<String, Instant> all = new LinkedHashMap<>();
            calls.forEach(c -> c.join().ifPresent(e -> all.put(e.getKey(), e.getValue())));
            return all;
        });
    }

    /**
     * Desktops of the pool this node placed and has not written yet, or written but not yet in the index: they count
     * towards the pool's size.
     */
    int placed(String poolId) {
        forgetIndexed();
        return placedByPool.getOrDefault(poolId, 0) + unseen(w -> w.poolId().equals(poolId));
    }

    /** Desktops this node placed on the hypervisor that its usage and the desktops' states may not show yet. */
    private int placedOn(String hypervisorId) {
        return placedByHypervisor.getOrDefault(hypervisorId, 0) + unseen(w -> w.hypervisorId().equals(hypervisorId));
    }

    /** Desktops written here for which {@code test} holds and that the local index may not count yet. */
    private int unseen(Predicate<Written> test) {
        return (int) unseen.values().stream().filter(test).count();
    }

    /** Those the index counts leave, and any older than a minute (a desktop deleted before its event came). */
    private void forgetIndexed() {
        Instant stale = clock.instant().minusSeconds(60);
        unseen.entrySet().removeIf(e -> desktops.indexed(e.getKey()) || e.getValue().at().isBefore(stale));
    }

    /** Where the desktops go, placed one after another against the same usage figures. */
    private List<Pool.Template> place(Pool pool, long count) {
        Placement.Round round = placement.round(pool, this::placedOn);
        List<Pool.Template> placed = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            Optional<Pool.Template> where = round.choose();
            if (where.isEmpty()) {
                break;
            }
            placed.add(where.get());
        }
        return placed;
    }

    /** One creation on a creation thread: the desktop and when it was written, or empty when it was not made. */
    private Optional<Map.Entry<String, Instant>> begin(Pool pool, Pool.Template template,
            BiConsumer<String, Instant> created) {
        try {
            if (stopping || !ownership.isPrimaryOwner(pool.id()) || !backoff.allows(pool.id(),
                    template.hypervisorId())) {
                return Optional.empty();
            }
            Optional<Map.Entry<String, Instant>> made = provision(pool, template);
            made.ifPresent(m -> created.accept(m.getKey(), m.getValue()));
            return made;
        } catch (RuntimeException e) {
            // no tick waits for this creation: count it as the tick's failure would have been
            LOG.warnf(e, "Pool manager: creating a desktop of pool %s on %s failed", pool.id(),
                    template.hypervisorId());
            meters.counter("vdi.pool.manager.failures", "pool", pool.id()).increment();
            return Optional.empty();
        } finally {
            given(pool.id(), template.hypervisorId());
        }
    }

    /** A placed desktop was written (the desktops' states count it now) or given up. */
    private void given(String poolId, String hypervisorId) {
        placedByPool.merge(poolId, -1, DesktopCreation::add);
        placedByHypervisor.merge(hypervisorId, -1, DesktopCreation::add);
    }

    /** A count's change, atomic in the map's merge; a count back at 0 leaves the map. */
    private static Integer add(Integer count, Integer by) {
        return count + by == 0 ? null : count + by;
    }

    /**
     * Creates one desktop on the template's hypervisor; its id and when it was written, or empty when the hypervisor
     * refused or failed.
     */
    private Optional<Map.Entry<String, Instant>> provision(Pool pool, Pool.Template template) {
        HypervisorDriver driver = health.backgroundDriver(template.hypervisorId()).orElse(null);
        if (driver == null) {
            return Optional.empty();
        }
        String id = UUID.randomUUID().toString();
        String name = pool.id() + "-" + id.substring(0, 8);
        String secret = AgentSecrets.newSecret();
        DesktopEntity entity = new DesktopEntity();
        entity.id = id;
        entity.poolId = pool.id();
        entity.hypervisorId = template.hypervisorId();
        entity.name = name;
        entity.publication = template.publication();
        entity.agentSecretHash = AgentSecrets.hash(secret);
        inventory.add(entity); // through the outbox: provisioning goes on while the database is down
        Instant issuedAt = clock.instant();
        naming.add(name);
        try {
            TaskRef task = DriverCalls.await(driver.provision(new ProvisionSpec(name, template.templateRef(),
                    pool.desktopVcpus(), pool.desktopMemoryMb(), Map.of("vdi.desktop-id", id,
                            AgentSecrets.METADATA_KEY, secret))), config.poolManager().callTimeout().plusSeconds(1));
            backoff.attempted(pool.id(), template.hypervisorId());
            transitions.created(id, pool.id(), template.hypervisorId(), name, null, template.publication(), task);
            Instant at = clock.instant();
            unseen.put(id, new Written(pool.id(), template.hypervisorId(), name, at));
            audit.record("desktop.provisioning", "pool-manager", pool.id(), id, null, template.hypervisorId());
            return Optional.of(Map.entry(id, at));
        } catch (HypervisorException e) {
            LOG.infof("Pool %s: provisioning on %s failed: %s", pool.id(), template.hypervisorId(), e.getMessage());
            failedToProvision(pool.id(), template.hypervisorId(), issuedAt, e.getMessage());
            if (!e.unreachable()) {
                inventory.retired(id);
            }
            // else the hypervisor may have made the VM all the same (its answer lost or late): the row stays, so the
            // reconciler rebuilds the desktop from the VM once it is listed, or retires the row once it has stayed
            // without one for a while. Retired now, the VM would be unknown, and, left alone as pools do by default,
            // would hold a place on the host for good.
            return Optional.empty();
        } finally {
            naming.remove(name); // written (and in unseen until indexed) or failed
        }
    }

    /**
     * Whether this node is making the desktop named {@code name}: its provision call runs, or it is written but the
     * index may not show it yet. Its VM may already be listed by the hypervisor.
     */
    boolean making(String name) {
        return naming.contains(name) || unseen.values().stream().anyMatch(w -> w.name().equals(name));
    }

    /** A provision or a first start, issued at {@code issuedAt}, failed: backs the template off, shows the problem. */
    void failedToProvision(String poolId, String hypervisorId, Instant issuedAt, String error) {
        ProvisionBackoff.Failing f = backoff.failed(poolId, hypervisorId, issuedAt);
        problems.failed(poolId, "hypervisor " + hypervisorId + ": " + error, f.failures(),
                f.nextAttemptAt().toString());
    }

    private int parallelism() {
        return Math.max(1, config.poolManager().createParallelism());
    }
}
