package org.vdibroker.pool;

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
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;
import org.vdibroker.audit.AuditService;
import org.vdibroker.desktop.DesktopEntity;
import org.vdibroker.desktop.DesktopInventory;
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
 * cluster of simulators), so they run {@code create-parallelism} at a time, in waves placed together: one after
 * another, a tick making 200 spares took 16 s, and no other desktop of the node moved on meanwhile.
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

    Clock clock = Clock.systemUTC();

    private ExecutorService workers;
    private volatile boolean stopping;

    @PostConstruct
    void start() {
        AtomicInteger n = new AtomicInteger();
        workers = Executors.newFixedThreadPool(parallelism(), task -> {
            Thread t = new Thread(task, "vdi-desktop-creation-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Early in shutdown, with the pool manager: no new waves once the caches are about to stop. */
    void onStop(@Observes @Priority(1) ShutdownEvent event) {
        stopping = true;
    }

    /** Creations under way finish (a tick may be waiting for them); no new ones are taken. */
    @PreDestroy
    void stop() {
        workers.shutdown();
    }

    /**
     * Creates up to {@code count} desktops of the pool, a wave of {@code create-parallelism} at a time, starting no
     * wave after {@code deadline} but the first (so every pool gets some each tick). Stops at the first failed
     * provision (the template backs off) and when no hypervisor has room; the next tick goes on. Returns each desktop
     * created and when it was asked for.
     */
    Map<String, Instant> create(Pool pool, long count, Instant deadline) {
        Map<String, Instant> created = new LinkedHashMap<>();
        long left = count;
        while (left > 0 && !stopping && (created.isEmpty() || clock.instant().isBefore(deadline))) {
            int wanted = (int) Math.min(left, parallelism());
            List<Pool.Template> wave = place(pool, wanted);
            if (!wave.isEmpty() && created.isEmpty()) {
                problems.cleared(pool.id(), "no-capacity");
                problems.cleared(pool.id(), "no-hypervisor");
            }
            int made = run(pool, wave, created);
            if (wave.size() < wanted) {
                LOG.debugf("Pool %s: no hypervisor has room for another desktop", pool.id());
                placement.whyNot(pool).ifPresent(p -> problems.noRoom(pool.id(), p));
                return created;
            }
            if (made < wave.size()) {
                return created; // a provision failed: its template backs off, and the next tick places again
            }
            left -= made;
        }
        return created;
    }

    /** Where the wave's desktops go, placed one after another against the same usage figures. */
    private List<Pool.Template> place(Pool pool, int wanted) {
        Placement.Round round = placement.round(pool);
        List<Pool.Template> wave = new ArrayList<>(wanted);
        for (int i = 0; i < wanted; i++) {
            Optional<Pool.Template> where = round.choose();
            if (where.isEmpty()) {
                break;
            }
            wave.add(where.get());
        }
        return wave;
    }

    /** Creates the wave's desktops side by side; returns how many were created, adding them to {@code created}. */
    private int run(Pool pool, List<Pool.Template> wave, Map<String, Instant> created) {
        if (wave.size() == 1) { // no hand-over to another thread for a single desktop
            return provision(pool, wave.get(0)).map(id -> {
                created.put(id, clock.instant());
                return 1;
            }).orElse(0);
        }
        List<CompletableFuture<Optional<String>>> calls = wave.stream()
                .map(t -> CompletableFuture.supplyAsync(() -> provision(pool, t), workers)).toList();
        int made = 0;
        RuntimeException thrown = null;
        for (CompletableFuture<Optional<String>> call : calls) {
            try {
                Optional<String> id = call.join();
                if (id.isPresent()) {
                    created.put(id.get(), clock.instant());
                    made++;
                }
            } catch (CompletionException e) {
                // the rest are waited for first, so no creation of this tick is still running when it goes on
                thrown = e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
        if (thrown != null) {
            throw thrown;
        }
        return made;
    }

    /** Creates one desktop on the template's hypervisor; its id, or empty when the hypervisor refused or failed. */
    private Optional<String> provision(Pool pool, Pool.Template template) {
        HypervisorDriver driver = health.driver(template.hypervisorId()).orElse(null);
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
        try {
            TaskRef task = DriverCalls.await(driver.provision(new ProvisionSpec(name, template.templateRef(),
                    pool.desktopVcpus(), pool.desktopMemoryMb(), Map.of("vdi.desktop-id", id,
                            AgentSecrets.METADATA_KEY, secret))), config.poolManager().callTimeout().plusSeconds(1));
            backoff.attempted(pool.id(), template.hypervisorId());
            transitions.created(id, pool.id(), template.hypervisorId(), name, null, template.publication(), task);
            audit.record("desktop.provisioning", "pool-manager", pool.id(), id, null, template.hypervisorId());
            return Optional.of(id);
        } catch (HypervisorException e) {
            LOG.infof("Pool %s: provisioning on %s failed: %s", pool.id(), template.hypervisorId(), e.getMessage());
            failedToProvision(pool.id(), template.hypervisorId(), e.getMessage());
            inventory.retired(id);
            return Optional.empty();
        }
    }

    /** A provision or a first start failed: backs the template off and shows the pool's problem. */
    void failedToProvision(String poolId, String hypervisorId, String error) {
        ProvisionBackoff.Failing f = backoff.failed(poolId, hypervisorId);
        problems.failed(poolId, "hypervisor " + hypervisorId + ": " + error, f.failures(), f.nextAttemptAt().toString());
    }

    private int parallelism() {
        return Math.max(1, config.poolManager().createParallelism());
    }
}
