package org.vdibroker.pool;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.scheduler.Scheduled;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;
import org.vdibroker.audit.AuditService;
import org.vdibroker.cluster.KeyOwnership;
import org.vdibroker.desktop.DesktopInventory;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;
import org.vdibroker.desktop.DesktopTransitions;
import org.vdibroker.hypervisor.DriverCalls;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.HypervisorHealth;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.TaskStatus;
import org.vdibroker.security.AgentSecrets;
import org.vdibroker.session.SessionService;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;
import org.vdibroker.session.SessionStore;
import org.vdibroker.session.SessionTimeouts;

/**
 * Keeps each pool's desktops moving: drives pending hypervisor tasks to the next life-cycle state, hands ready
 * desktops to the queue in order, and keeps {@code spare} ready desktops within min and max. Runs for the pools whose
 * key this node owns, a bounded amount of work per tick.
 */
@Singleton
public class PoolManager {

    private static final Logger LOG = Logger.getLogger(PoolManager.class);
    private static final Duration ORPHAN_WINDOW = Duration.ofMinutes(10);

    @Inject
    BrokerConfig config;
    @Inject
    PoolCatalog catalog;
    @Inject
    KeyOwnership ownership;
    @Inject
    DesktopService desktops;
    @Inject
    DesktopTransitions transitions;
    @Inject
    DesktopInventory inventory;
    @Inject
    HypervisorHealth health;
    @Inject
    Reconciler reconciler;
    @Inject
    ProvisionBackoff backoff;
    @Inject
    DesktopCreation creation;
    @Inject
    SessionStore sessions;
    @Inject
    SessionService sessionService;
    @Inject
    ProvisioningStats stats;
    @Inject
    SpareTarget spareTarget;
    @Inject
    PublicationRollout rollout;
    @Inject
    SessionTimeouts timeouts;
    @Inject
    AuditService audit;
    @Inject
    MeterRegistry meters;
    @Inject
    Evacuations evacuations;

    @Inject
    ProvisionProblems problems;
    @Inject
    SilentAgents silentAgents;

    Clock clock = Clock.systemUTC();

    /** When this node asked for a desktop to be made ready, to measure provisioning times for ETAs. */
    private final Map<String, Instant> startedAt = new ConcurrentHashMap<>();
    private final Set<String> gauged = ConcurrentHashMap.newKeySet();
    /** Ticks of each pool on this node, to spread full reads of pools over ticks. */
    private final Map<String, Long> ticks = new ConcurrentHashMap<>();
    private volatile boolean stopping;

    /** Early in shutdown: no new ticks once the caches are about to stop. */
    void onStop(@Observes @Priority(1) ShutdownEvent event) {
        stopping = true;
    }

    /**
     * A blocking scheduled method: it starts on the application's worker pool, and so waits behind the requests
     * queued there in a logon storm. Handed to a thread of its own (tried), the tick ran every second through the
     * benchmark's cold storm and took the CPU the requests needed: 87 answers/s against 138/s this way, and 13 % of
     * the users' requests timed out. The worker pool's queue is, for now, what shares a saturated node's CPU between
     * the two.
     */
    @Scheduled(every = "${broker.pool-manager.interval}", delayed = "1s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void tick() {
        tickHere();
    }

    /** One whole tick on the calling thread, timed (benchmark 4's harness calls it without Quarkus). */
    private void tickHere() {
        if (stopping) {
            return;
        }
        // how long this node's tick over the pools it manages takes: each step of a desktop waits for the next tick
        Timer.Sample sample = Timer.start(meters);
        try {
            tickPools();
        } finally {
            sample.stop(meters.timer("vdi.pool.manager.tick"));
        }
    }

    private void tickPools() {
        Collection<Pool> all = catalog.all();
        reconciler.startTick(all.size()); // bounds how many pools' reconcile rounds this tick starts
        for (Pool pool : all) {
            if (stopping) {
                return;
            }
            if (!ownership.isPrimaryOwner(pool.id())) {
                continue;
            }
            try {
                manage(pool);
            } catch (RuntimeException e) {
                LOG.warnf(e, "Pool manager tick failed for pool %s", pool.id());
                failed(pool.id());
            }
        }
        sessions.purgeEnded(clock.instant().minus(config.sessions().endedRetention()),
                config.poolManager().batchSize() * 20);
    }

    /** Counts a pool's failed tick (or failed part of one): what an operator alerts on. */
    private void failed(String poolId) {
        meters.counter("vdi.pool.manager.failures", "pool", poolId).increment();
    }

    /**
     * One bounded round of work for one pool. A tick looks only at the desktops and sessions the local indexes say
     * need work, and takes the pool's counts from them; every {@code sweep-every} ticks (staggered over pools) it
     * first reads all the pool's desktops and corrects the indexes from them, the safety net for a missed cache event.
     */
    public void manage(Pool pool) {
        boolean sweep = sweepDue(pool.id());
        if (sweep) {
            desktops.resync(pool.id(), desktops.ofPool(pool.id()));
        }
        registerGauge(pool.id());
        if (!reconciler.reconcile(pool)) {
            failed(pool.id()); // the rest of the tick still runs: provisioning need not wait for a reconcile
        }
        rollout.roll(pool);
        evacuations.step(pool);
        for (DesktopState d : needingWork(pool.id())) {
            advance(d, pool);
        }
        timeouts.enforce(pool, sweep);
        silentAgents.enforce(pool);
        assignQueue(pool);
        grow(pool);
        housekeeping(pool);
    }

    /** Whether this tick of the pool reads all its desktops: its first here, then every sweep-every ticks. */
    boolean sweepDue(String poolId) {
        int every = Math.max(1, config.poolManager().sweepEvery());
        long n = ticks.merge(poolId, 1L, Long::sum);
        // staggered by pool, so each tick sweeps about 1/every of the pools rather than all of them at once
        return n == 1 || (n + Math.floorMod(poolId.hashCode(), every)) % every == 0;
    }

    /** Desktops with a task or step due (from the index), and recent claims for the orphan check. */
    private Collection<DesktopState> needingWork(String poolId) {
        Map<String, DesktopState> work = new LinkedHashMap<>();
        desktops.needingWork(poolId).forEach(d -> work.put(d.id(), d));
        Instant now = clock.instant();
        List<DesktopState> claims = desktops.claimedBetween(poolId, now.minus(ORPHAN_WINDOW),
                now.minus(config.poolManager().orphanGrace()));
        // most claims are held by their sessions: confirmed from two batch reads, not two reads each (a storm's
        // first thousand claims come of age in the same tick)
        Map<String, String> desktopBySession = new java.util.HashMap<>();
        claims.stream().filter(d -> d.sessionId() != null).forEach(d -> desktopBySession.put(d.sessionId(), d.id()));
        Set<String> held = desktopBySession.isEmpty() ? java.util.Collections.emptySet()
                : sessions.holdingTheirClaims(desktopBySession);
        for (DesktopState d : claims) {
            if (held.contains(d.sessionId()) && d.id().equals(desktopBySession.get(d.sessionId()))) {
                desktops.claimConfirmed(d);
            } else {
                work.putIfAbsent(d.id(), d);
            }
        }
        return work.values();
    }

    private void advance(DesktopState d, Pool pool) {
        // guarded by the hypervisor's circuit breaker; empty while it is open
        Optional<HypervisorDriver> driver = health.backgroundDriver(d.hypervisorId());
        if (driver.isEmpty()) {
            return;
        }
        try {
            switch (d.status()) {
                case PROVISIONING -> whenDone(d, driver.get(), done -> start(d, driver.get(), done.vmRef())
                        .ifPresent(powerOn -> transitions.provisioned(d, done.vmRef(), powerOn)
                                .ifPresent(x -> inventory.setVmRef(d.id(), done.vmRef()))));
                case STARTING -> whenDone(d, driver.get(), done -> transitions.started(d).ifPresent(ready -> {
                    // a template works once its desktop runs: a start failure (network inactive) counts as one
                    backoff.succeeded(pool.id(), d.hypervisorId());
                    problems.cleared(pool.id(), null);
                    Instant began = startedAt.remove(d.id());
                    if (began != null) {
                        stats.observed(pool.id(), Duration.between(began, clock.instant()));
                    }
                }));
                case REFRESHING -> {
                    if (d.task() == null) {
                        startedAt.put(d.id(), clock.instant());
                        transitions.stepIssued(d, call(driver.get().revert(d.vmRef(), newAgentSecret(d))));
                    } else {
                        whenDone(d, driver.get(), done -> refreshed(d, driver.get(), done));
                    }
                }
                case FAILED -> retire(d, driver.get());
                case ASSIGNED -> releaseIfOrphaned(d);
                case RETIRING -> {
                    if (d.task() == null) {
                        issueDelete(d, driver.get());
                    } else {
                        whenDone(d, driver.get(), done -> deleted(d));
                    }
                }
                default -> {
                }
            }
        } catch (HypervisorException e) {
            onFailure(d, e.getMessage(), e.retryable());
        }
    }

    /**
     * A new agent secret for a desktop about to be refreshed, so a former user who read the old one inside the guest
     * cannot speak for the next user. Its hash is stored first: from then on only the new secret is accepted. A node
     * that dies before the revert is recorded leaves the desktop REFRESHING without a task, and the next tick (on any
     * node) makes another secret and reverts again, so the secret never needs to outlive this call.
     */
    private Map<String, String> newAgentSecret(DesktopState d) {
        String secret = AgentSecrets.newSecret();
        inventory.setAgentSecretHash(d.id(), AgentSecrets.hash(secret));
        return Map.of(AgentSecrets.METADATA_KEY, secret);
    }

    /** A refresh that re-cloned the desktop names its new VM: the desktop follows it (same name, new vmRef). */
    private void refreshed(DesktopState d, HypervisorDriver driver, TaskStatus done) {
        String vmRef = done.vmRef() != null ? done.vmRef() : d.vmRef();
        start(d, driver, vmRef).ifPresent(powerOn -> transitions.refreshed(d, vmRef, powerOn).ifPresent(x -> {
            if (!vmRef.equals(d.vmRef())) {
                inventory.setVmRef(d.id(), vmRef);
            }
        }));
    }

    /**
     * Starts the VM of a desktop whose clone or revert is done; empty when the start got no answer. It may have gone
     * through all the same: the desktop stays as it is, and the next tick finds its task done again and starts it
     * again, which every driver answers with the VM's start when it is starting or running already. So a finished
     * clone or revert is not thrown away (nor the template backed off) for a lost answer.
     */
    private Optional<TaskRef> start(DesktopState d, HypervisorDriver driver, String vmRef) {
        return answered(d, "the start of " + vmRef, driver.powerOn(vmRef));
    }

    /**
     * A claim whose session never learned of it (the node died between the two writes of SessionService.tryAssign,
     * or before a new session that claimed first was written) would hold the desktop forever: after a grace period
     * such a desktop goes back to READY, once the session is fenced against a claimer that only stalled
     * (SessionStore.fenceClaim). Nobody connected to it, so it needs no refresh. A new session that claimed
     * first and was written but never published (its node died before the user-sessions write) is ended, since the
     * user's retry holds their one session. A claim its session holds is confirmed and not looked at again. Only
     * recent claims are checked, which is when such a leak appears.
     */
    private void releaseIfOrphaned(DesktopState d) {
        Instant now = clock.instant();
        if (d.sessionId() == null || d.changedAt().isAfter(now.minus(config.poolManager().orphanGrace()))
                || d.changedAt().isBefore(now.minus(ORPHAN_WINDOW))) {
            return;
        }
        // the session that holds the desktop; else fenced before the desktop is freed, so a claimer that only stalled
        // can no longer write it into its session
        Optional<SessionState> session = sessions.fenceClaim(d.sessionId(), d.poolId(), d.id());
        if (session.isEmpty()) {
            if (transitions.unclaimed(d, d.sessionId()).isPresent()) {
                LOG.infof("Desktop %s was claimed for session %s that never got it; it is free again", d.id(),
                        d.sessionId());
            }
        } else if (!sessions.holdsClaim(session.get(), d.id())) { // it names the desktop: unpublished
            endUnpublished(d.sessionId(), s -> d.id().equals(s.desktopId()));
        } else {
            desktops.claimConfirmed(d);
        }
    }

    /**
     * Polls the desktop's task and runs {@code next} when it succeeded; failures count towards retirement. A poll
     * that got no answer in time says nothing of the task (a slow or overloaded hypervisor may still be cloning):
     * the desktop waits for the next tick, and the silence counts against the hypervisor's circuit breaker, and,
     * if it lasts {@code host-lost-after}, makes the hypervisor lost with its desktops.
     */
    private void whenDone(DesktopState d, HypervisorDriver driver, java.util.function.Consumer<TaskStatus> next) {
        if (d.task() == null) {
            return;
        }
        Optional<TaskStatus> answer = answered(d, "its task's poll", driver.pollTask(d.task()));
        if (answer.isEmpty()) {
            return;
        }
        TaskStatus status = answer.get();
        switch (status.state()) {
            case SUCCEEDED -> next.accept(status);
            case FAILED -> {
                if (d.status() == DesktopStatus.RETIRING && !status.retryable()) {
                    deleted(d); // nothing left to delete
                } else {
                    onFailure(d, status.error(), status.retryable());
                }
            }
            case RUNNING -> {
            }
        }
    }

    private void onFailure(DesktopState d, String error, boolean retryable) {
        LOG.infof("Desktop %s (%s) operation failed: %s", d.id(), d.status(), error);
        if (d.status() == DesktopStatus.PROVISIONING || d.status() == DesktopStatus.STARTING) {
            // the desktop changed last when its clone or its start was issued
            creation.failedToProvision(d.poolId(), d.hypervisorId(), d.changedAt(), error);
        }
        if (d.status() == DesktopStatus.RETIRING) {
            if (d.failures() + 1 >= config.poolManager().maxFailures()) {
                deleted(d); // give up on a VM the hypervisor will not delete; reconciliation reports it
            } else {
                transitions.retried(d, null); // the next tick asks again
            }
            return;
        }
        if (d.status() == DesktopStatus.REFRESHING && retryable
                && d.failures() + 1 < config.poolManager().maxFailures()) {
            transitions.retried(d, null); // the next tick reverts again; maxFailures in a row retire it
            return;
        }
        transitions.failed(d).ifPresent(f -> audit.record("desktop.failed", "pool-manager", d.poolId(), d.id(),
                d.sessionId(), error));
    }

    /** Marks the desktop RETIRING first (so nobody can claim it any more), then asks the hypervisor to delete it. */
    private void retire(DesktopState d, HypervisorDriver driver) {
        desktops.forgetOwner(d);
        transitions.retiring(d, null).ifPresent(r -> issueDelete(r, driver));
    }

    private void issueDelete(DesktopState retiring, HypervisorDriver driver) {
        if (retiring.vmRef() == null) {
            deleted(retiring);
            return;
        }
        transitions.stepIssued(retiring, call(driver.delete(retiring.vmRef())));
    }

    private void deleted(DesktopState d) {
        if (transitions.deleted(d)) {
            startedAt.remove(d.id());
            inventory.retired(d.id());
            audit.record("desktop.deleted", "pool-manager", d.poolId(), d.id(), null, null);
        }
    }

    /**
     * Serves the pool's queue from its head while desktops are ready. A floating pool's walk stops at the first
     * session it cannot serve, so a tick reads the few sessions it serves, not the queue; a dedicated pool's users
     * each wait for their own desktop, so its walk goes on past them.
     */
    private void assignQueue(Pool pool) {
        if (!pool.dedicated() && desktops.readyCount(pool.id()) == 0) {
            return; // a claim looks for candidates in that same index: nothing for the head
        }
        for (SessionState waiting : sessions.queueInOrder(pool.id())) {
            if (sessionService.tryAssign(waiting, pool).isEmpty() && !pool.dedicated()) {
                break; // nothing ready for the head, so nothing for those behind it either
            }
        }
    }

    /** Starts desktops so that SpareTarget's count is ready for newcomers beyond those waiting, within min and max. */
    private void grow(Pool pool) {
        if (!pool.enabled()) {
            return;
        }
        List<DesktopState> all = null;
        long counted;
        long held;
        if (evacuations.anyLeaving(pool.id())) {
            all = desktops.ofPool(pool.id());
            // unused desktops of an evacuating hypervisor are replaced elsewhere first: they do not count
            counted = all.stream().filter(d -> d.status().counted() && !evacuations.leaving(d)).count();
            held = all.stream().filter(d -> d.status().held() || d.owner() != null).count();
        } else {
            counted = desktops.countedCount(pool.id()); // none leaving: the index's counts are the same
            held = desktops.heldCount(pool.id());
        }
        counted += creation.placed(pool.id()); // placed by this node, still being created
        long waiting = sessions.queueLength(pool.id());
        long wanted = Math.max(pool.minSize(), held + waiting + spareTarget.spare(pool, clock.instant()));
        long target = Math.min(wanted, pool.maxSize());
        if (counted > target) {
            shrink(pool, all != null ? all : desktops.readyOf(pool.id()), counted - target);
            return;
        }
        if (counted == target) {
            problems.cleared(pool.id(), "no-capacity");
            problems.cleared(pool.id(), "no-hypervisor");
        }
        long toCreate = Math.min(target - counted, config.poolManager().batchSize());
        if (toCreate > 0) {
            creation.create(pool, toCreate, startedAt::put); // the tick goes on while they are created
        }
    }

    /** Retires surplus ready desktops (the pool shrank); desktops in use are never taken. */
    private void shrink(Pool pool, List<DesktopState> all, long surplus) {
        long retired = 0;
        for (DesktopState d : all) {
            if (retired >= Math.min(surplus, config.poolManager().batchSize())) {
                return;
            }
            if (d.status() == DesktopStatus.READY && d.owner() == null && d.sessionId() == null) {
                Optional<HypervisorDriver> driver = health.backgroundDriver(d.hypervisorId());
                if (driver.isPresent()) {
                    Optional<DesktopState> retiring = transitions.retiring(d, null);
                    if (retiring.isPresent()) {
                        retired++;
                        try {
                            issueDelete(retiring.get(), driver.get());
                        } catch (HypervisorException e) {
                            LOG.infof("Pool %s: delete of surplus desktop %s not issued yet: %s", pool.id(), d.id(),
                                    e.getMessage());
                        }
                    }
                }
            }
        }
    }

    /**
     * Ended sessions are forgotten after a while; queued ones nobody asks about any more leave the queue. A new
     * session whose request died before it took a desktop or a queue ticket joins the queue here, so that it is
     * served (or abandoned) like any other; one whose node died before it was even published is ended instead (the
     * user never learnt of it, and a second live session would break one session per user and pool).
     */
    private void housekeeping(Pool pool) {
        Instant now = clock.instant();
        Instant strandedBefore = now.minus(config.poolManager().orphanGrace());
        for (SessionState stranded : sessions.strandedArrivals(pool.id(), strandedBefore)) {
            if (sessions.published(stranded)) {
                sessions.enqueue(stranded);
            } else {
                endUnpublished(stranded.id(), s -> s.queueTicket() == 0);
            }
        }
        for (SessionState s : sessions.queuedUnseenSince(pool.id(), now.minus(config.sessions().queueAbandonAfter()))) {
            // the session's current state decides, in the write that ends it (this tick may have served it)
            sessionService.endIf(s.id(), current -> (current.status() == SessionStatus.QUEUED
                    || current.status() == SessionStatus.PROVISIONING) && abandoned(current, now), "abandoned",
                    "pool-manager");
        }
    }

    /**
     * Ends a session its node wrote but never published in user-sessions (it died between the two writes), if it is
     * still unpublished and {@code still} holds, both checked in the write that ends it.
     */
    private void endUnpublished(String sessionId, java.util.function.Predicate<SessionState> still) {
        sessionService.endIf(sessionId, s -> still.test(s) && !sessions.published(s), "unpublished", "pool-manager");
    }

    private boolean abandoned(SessionState s, Instant now) {
        return s.lastSeenAt().plus(config.sessions().queueAbandonAfter()).isBefore(now);
    }

    private void registerGauge(String poolId) {
        if (gauged.add(poolId)) {
            Gauge.builder("vdi.pool.ready.spares", () -> desktops.readyCount(poolId)).tag("pool", poolId)
                    .description("ready, unassigned desktops").register(meters);
            Gauge.builder("vdi.pool.queue.depth", () -> sessions.queueLength(poolId)).tag("pool", poolId)
                    .description("sessions waiting for a desktop").register(meters);
        }
    }

    /**
     * The answer of a call whose silence says nothing (the hypervisor may have done it): empty when it got no answer
     * in time, for the caller to ask again next tick; a refusal is thrown as usual.
     */
    private <T> Optional<T> answered(DesktopState d, String what, java.util.concurrent.CompletionStage<T> stage) {
        try {
            return Optional.of(call(stage));
        } catch (HypervisorException e) {
            if (!e.unreachable()) {
                throw e;
            }
            LOG.debugf("Desktop %s (%s): %s got no answer (%s); asked again next tick", d.id(), d.status(), what,
                    e.getMessage());
            return Optional.empty();
        }
    }

    /** Waits for a driver call, a little longer than the hypervisor's guard (which times out first). */
    private <T> T call(java.util.concurrent.CompletionStage<T> stage) {
        return DriverCalls.await(stage, config.poolManager().callTimeout().plusSeconds(1));
    }
}
