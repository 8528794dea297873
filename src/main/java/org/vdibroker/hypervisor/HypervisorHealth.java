package org.vdibroker.hypervisor;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.Guard;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;

/**
 * Whether each hypervisor answers, as this node sees it. Every call the pool manager makes goes through a circuit
 * breaker of its own per hypervisor (SmallRye Fault Tolerance), so one dead or slow host fails fast instead of
 * stalling the others. A hypervisor that has given no answer at all for {@code host-lost-after} is lost. Quiet
 * hypervisors are probed with a usage call every {@code health-interval}, so loss is noticed within a bounded time
 * even when nothing else talks to them.
 */
@ApplicationScoped
public class HypervisorHealth {

    private static final Logger LOG = Logger.getLogger(HypervisorHealth.class);

    @Inject
    BrokerConfig config;

    @Inject
    HypervisorRegistry registry;

    @Inject
    MeterRegistry meters;

    Clock clock = Clock.systemUTC();

    private final Map<String, Tracker> trackers = new ConcurrentHashMap<>();
    private volatile boolean stopping;

    /** Early in shutdown: no more probes once the caches (the simulator's hosts among them) are about to stop. */
    void onStop(@Observes @Priority(1) ShutdownEvent event) {
        stopping = true;
    }

    /**
     * The hypervisor's driver for a user's request, with every call guarded by its circuit breaker and timeout; empty
     * when there is no driver or while its breaker is open. Its answers continue under the request's Vert.x context.
     */
    public Optional<HypervisorDriver> driver(String hypervisorId) {
        return guarded(hypervisorId, false);
    }

    /**
     * The same for background work (the pool manager's, the probes), whose callers wait for the answer themselves:
     * an answer continues on the thread that brought it, never handed back to the caller's Vert.x context, where it
     * would wait behind users' requests queued on the worker pool. Same breaker and timeout. Empty while the breaker
     * is open (the pool manager skips the hypervisor this tick).
     */
    public Optional<HypervisorDriver> backgroundDriver(String hypervisorId) {
        return guarded(hypervisorId, true);
    }

    private Optional<HypervisorDriver> guarded(String hypervisorId, boolean background) {
        Tracker tracker = tracker(hypervisorId);
        if (tracker.breaker == CircuitBreakerState.OPEN) {
            return Optional.empty();
        }
        return registry.driver(hypervisorId).map(raw -> new GuardedDriver(raw, tracker, background));
    }

    /**
     * Runs one call of an optional ability (console ticket, guest address, console link) through the hypervisor's
     * circuit breaker and timeout, like every call of {@link #driver}'s.
     */
    public <T> CompletionStage<T> guard(String hypervisorId, Supplier<CompletionStage<T>> call) {
        return GuardedDriver.guarded(tracker(hypervisorId), false, call);
    }

    /** Whether the circuit breaker of the hypervisor is open: recent calls failed and new ones are refused. */
    public boolean breakerOpen(String hypervisorId) {
        return tracker(hypervisorId).breaker == CircuitBreakerState.OPEN;
    }

    /**
     * Calls to the hypervisor fail, and none has been answered for at least {@code host-lost-after}. Not while its
     * breaker is half-open: a trial call is due, and while the breaker was open no call could learn that the host is
     * back (a host silent for a moment was declared lost just before the trial that found it answering).
     */
    public boolean lost(String hypervisorId) {
        Tracker tracker = trackers.get(hypervisorId);
        Instant since = tracker == null ? null : tracker.unansweredSince;
        return since != null && tracker.breaker != CircuitBreakerState.HALF_OPEN
                && !clock.instant().isBefore(since.plus(config.poolManager().hostLostAfter()));
    }

    /** The hypervisors that are lost: only their desktops need looking at to mark them LOST. */
    public Set<String> lostIds() {
        Set<String> lost = new HashSet<>();
        for (Hypervisor h : registry.all()) {
            if (lost(h.id())) {
                lost.add(h.id());
            }
        }
        return lost;
    }

    /** Asks every hypervisor that has been quiet since the last probe for its usage, without waiting for answers. */
    @Scheduled(every = "${broker.pool-manager.health-interval}", delayed = "1s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void probe() {
        if (stopping) {
            return;
        }
        Instant quietSince = clock.instant().minus(config.poolManager().healthInterval());
        for (Hypervisor h : registry.all()) {
            Tracker tracker = tracker(h.id());
            boolean quiet = tracker.lastAnswerAt == null || tracker.lastAnswerAt.isBefore(quietSince)
                    || tracker.unansweredSince != null;
            if (!quiet || !tracker.probing.compareAndSet(false, true)) {
                continue; // answered lately, or the last probe is still out (bounded by the call timeout)
            }
            Optional<HypervisorDriver> raw = registry.driver(h.id());
            if (raw.isEmpty()) {
                tracker.probing.set(false);
                continue;
            }
            // through the guard even while the breaker is open: that is how it learns the host is back
            new GuardedDriver(raw.get(), tracker, true).usage()
                    .whenComplete((usage, error) -> tracker.probing.set(false));
        }
    }

    Tracker tracker(String hypervisorId) {
        return trackers.computeIfAbsent(hypervisorId, this::newTracker);
    }

    private Tracker newTracker(String hypervisorId) {
        Tracker tracker = new Tracker(hypervisorId);
        Duration delay = config.poolManager().breakerDelay();
        tracker.guard = Guard.create()
                .withDescription("hypervisor " + hypervisorId)
                // every call starts on its caller's thread (an executor that runs the task in place). SmallRye's
                // default on a Vert.x thread runs the call as a task of the caller's context and delivers its answer as
                // another: on a worker thread two waits on the worker pool, behind every request queued there (the
                // pool manager's polls waited for them in a storm, and a request's connection check paid four hops).
                // Where a late answer continues is GuardedDriver's business. A call made on an event loop (the console
                // proxy's) runs there, so drivers must not block in the call (HypervisorDriver's contract)
                .withThreadOffload(true).withThreadOffloadExecutor(Runnable::run)
                .withTimeout().duration(config.poolManager().callTimeout().toMillis(), ChronoUnit.MILLIS).done()
                .withCircuitBreaker()
                .requestVolumeThreshold(config.poolManager().breakerRequests())
                .failureRatio(0.5)
                .successThreshold(1)
                .delay(delay.toMillis(), ChronoUnit.MILLIS)
                // an answer with an error (no such VM, no room, busy) shows the host is there; only silence counts
                .when(e -> !answered(e))
                .onStateChange(state -> {
                    tracker.breaker = state;
                    LOG.infof("Hypervisor %s: circuit breaker %s", hypervisorId, state);
                })
                .done()
                .build();
        Gauge.builder("vdi.hypervisor.answering", tracker, t -> t.unansweredSince == null ? 1 : 0)
                .tag("hypervisor", hypervisorId).description("1 while the hypervisor answers calls, 0 when it does not")
                .register(meters);
        return tracker;
    }

    /**
     * Whether an outcome shows the hypervisor answered: success, or any error it answered with (a refusal, "busy", a
     * failed operation). Silence is a timeout, an unreachable host, or a failure the driver could not explain.
     */
    static boolean answered(Throwable error) {
        Throwable cause = unwrap(error);
        return cause == null || cause instanceof HypervisorException he && !he.unreachable();
    }

    static Throwable unwrap(Throwable error) {
        Throwable cause = error;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    /** What this node knows of one hypervisor: its breaker, and when it last answered or first stopped answering. */
    final class Tracker {
        final String hypervisorId;
        final AtomicBoolean probing = new AtomicBoolean();
        Guard guard;
        volatile CircuitBreakerState breaker = CircuitBreakerState.CLOSED;
        volatile Instant lastAnswerAt;
        volatile Instant unansweredSince;

        Tracker(String hypervisorId) {
            this.hypervisorId = hypervisorId;
        }

        void answered() {
            lastAnswerAt = clock.instant();
            if (unansweredSince != null) {
                LOG.infof("Hypervisor %s answers again", hypervisorId);
                unansweredSince = null;
            }
        }

        void unanswered(String why) {
            if (unansweredSince == null) {
                // silent since its last answer, which may be a while before the first call that got none
                Instant last = lastAnswerAt;
                unansweredSince = last != null ? last : clock.instant();
                LOG.warnf("Hypervisor %s does not answer: %s", hypervisorId, why);
            }
        }
    }
}
