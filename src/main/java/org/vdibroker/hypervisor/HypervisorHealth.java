package org.vdibroker.hypervisor;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.Guard;
import io.vertx.core.Vertx;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
    private final CallStarter starter = new CallStarter();
    private volatile boolean stopping;

    /** Early in shutdown: no more probes once the caches (the simulator's hosts among them) are about to stop. */
    void onStop(@Observes @Priority(1) ShutdownEvent event) {
        stopping = true;
        starter.close();
    }

    /**
     * The hypervisor's driver for a user's request, with every call guarded by its circuit breaker and timeout; empty
     * when there is no driver or while its breaker is open. Its answers continue under the request's Vert.x context.
     */
    public Optional<HypervisorDriver> driver(String hypervisorId) {
        return guarded(hypervisorId, false);
    }

    /**
     * The same for background work (the pool manager's, the probes): its calls never start behind users' requests
     * on the worker pool nor on an event loop (see {@link CallStarter}); same breaker and timeout. Empty while the
     * breaker is open (the pool manager skips the hypervisor this tick).
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
    public <T> java.util.concurrent.CompletionStage<T> guard(String hypervisorId,
            java.util.function.Supplier<java.util.concurrent.CompletionStage<T>> call) {
        return GuardedDriver.guarded(tracker(hypervisorId), false, call);
    }

    /** Whether the circuit breaker of the hypervisor is open: recent calls failed and new ones are refused. */
    public boolean breakerOpen(String hypervisorId) {
        return tracker(hypervisorId).breaker == CircuitBreakerState.OPEN;
    }

    /** Calls to the hypervisor fail, and none has been answered for at least {@code host-lost-after}. */
    public boolean lost(String hypervisorId) {
        Tracker tracker = trackers.get(hypervisorId);
        Instant since = tracker == null ? null : tracker.unansweredSince;
        return since != null
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
                // SmallRye's default on a Vert.x thread: the call runs as a task on the caller's context and its
                // answer comes back as another. Started on the caller's thread instead (measured faster), a driver
                // that blocks inside its call (the simulator reads and writes a replicated cache synchronously)
                // would hold that thread, an event loop among them, and a timeout could not end the wait (the pool
                // manager's calls start elsewhere: see CallStarter)
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

    /**
     * Where a guarded call starts. SmallRye starts a call made under a Vert.x context as a task of that context,
     * and delivers its answer as another: on a worker thread (a blocking request's, a scheduled method's) both wait
     * for the application's worker pool, behind every request queued there. That keeps a request's call and answer
     * under the request's context, as they must be. Background work needs no context and must not wait behind a
     * storm of requests: a background call made under a context (the pool manager's tick, the health probe, both
     * scheduled methods on worker threads) starts on one of a few threads of its own, which have none, so SmallRye
     * starts it right there and the answer comes on the driver's thread. A background caller on a plain thread (a
     * creation's) starts it on that thread.
     */
    final class CallStarter {
        /** A thread is held only while a driver sends a call (a little longer by a driver that blocks). */
        private static final int THREADS = 4;
        private final ThreadPoolExecutor backgroundThreads;

        CallStarter() {
            AtomicInteger count = new AtomicInteger();
            backgroundThreads = new ThreadPoolExecutor(THREADS, THREADS, 60, TimeUnit.SECONDS,
                    new LinkedBlockingQueue<>(), task -> {
                        Thread t = new Thread(task, "hypervisor-call-" + count.incrementAndGet());
                        t.setDaemon(true);
                        return t;
                    });
            backgroundThreads.allowCoreThreadTimeOut(true); // none while idle
        }

        <T> CompletionStage<T> start(boolean background, Supplier<CompletionStage<T>> guarded) {
            if (!background || Vertx.currentContext() == null) {
                return guarded.get();
            }
            return CompletableFuture.supplyAsync(guarded, backgroundThreads).thenCompose(stage -> stage);
        }

        void close() {
            backgroundThreads.shutdown();
        }
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

        /** Starts {@code guarded} (a {@code guard.get}) where its kind of caller should: see {@link CallStarter}. */
        <T> CompletionStage<T> start(boolean background, Supplier<CompletionStage<T>> guarded) {
            return starter.start(background, guarded);
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
