package org.vdibroker.hypervisor;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import jakarta.enterprise.util.TypeLiteral;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException;

/**
 * A driver whose every call goes through its hypervisor's circuit breaker and timeout, and tells
 * {@link HypervisorHealth} whether the hypervisor answered. Failures always come out as {@link HypervisorException}.
 * Only the base contract: calls of an optional ability go through {@link HypervisorHealth#guard}.
 */
final class GuardedDriver implements HypervisorDriver {

    /** The guard's return type, made once: a type literal made per call resolves its type reflectively each time. */
    private static final TypeLiteral<CompletionStage<Object>> STAGE = new TypeLiteral<>() {
    };

    private final HypervisorDriver delegate;
    private final HypervisorHealth.Tracker tracker;
    private final boolean background;

    /** {@code background}: calls of background work, answered as {@link HypervisorHealth#backgroundDriver} says. */
    GuardedDriver(HypervisorDriver delegate, HypervisorHealth.Tracker tracker, boolean background) {
        this.delegate = delegate;
        this.tracker = tracker;
        this.background = background;
    }

    @Override
    public CompletionStage<HostUsage> usage() {
        return guarded(tracker, background, delegate::usage);
    }

    @Override
    public CompletionStage<List<VmInfo>> listVms(String namePrefix) {
        return guarded(tracker, background, () -> delegate.listVms(namePrefix));
    }

    @Override
    public CompletionStage<TaskRef> provision(ProvisionSpec spec) {
        return guarded(tracker, background, () -> delegate.provision(spec));
    }

    @Override
    public CompletionStage<TaskRef> powerOn(String vmRef) {
        return guarded(tracker, background, () -> delegate.powerOn(vmRef));
    }

    @Override
    public CompletionStage<TaskRef> powerOff(String vmRef) {
        return guarded(tracker, background, () -> delegate.powerOff(vmRef));
    }

    @Override
    public CompletionStage<TaskRef> revert(String vmRef, Map<String, String> guestMetadata) {
        return guarded(tracker, background, () -> delegate.revert(vmRef, guestMetadata));
    }

    @Override
    public CompletionStage<TaskRef> delete(String vmRef) {
        return guarded(tracker, background, () -> delegate.delete(vmRef));
    }

    @Override
    public CompletionStage<TaskStatus> pollTask(TaskRef task) {
        return guarded(tracker, background, () -> delegate.pollTask(task));
    }

    @Override
    public CompletionStage<ConsoleAddress> consoleAddress(String vmRef, String protocol) {
        return guarded(tracker, background, () -> delegate.consoleAddress(vmRef, protocol));
    }

    /** The driver belongs to the registry, which closes it. */
    @Override
    public void close() {
    }

    /**
     * One call through the hypervisor's breaker and timeout, telling the tracker whether it was answered. The call
     * starts on the caller's thread (see the guard in {@link HypervisorHealth}); an answer there at once continues
     * there. A late answer (a driver's event loop, the guard's timer) to a request continues under the request's
     * Vert.x context, on a worker if the request was on one, so the request's next steps may block as before; a late
     * answer to background work continues where it came, since its caller waits for it anyway.
     */
    static <T> CompletionStage<T> guarded(HypervisorHealth.Tracker tracker, boolean background,
            Supplier<CompletionStage<T>> call) {
        // a call started inside a database transaction carries it onto the breaker's threads (context
        // propagation), and the commit can race them (Narayana: "multiple threads active"); read first, then call
        assert !org.vdibroker.persistence.Database.inTransaction()
                : "hypervisor " + tracker.hypervisorId + " called inside a database transaction";
        Context caller = background ? null : Vertx.currentContext();
        boolean onEventLoop = Context.isOnEventLoopThread();
        Thread callerThread = Thread.currentThread();
        AtomicBoolean returning = new AtomicBoolean(true);
        CompletionStage<T> stage;
        try {
            stage = tracker.guard.get(call, stageType());
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        stage.whenComplete((value, error) -> {
            Throwable cause = HypervisorHealth.unwrap(error);
            if (HypervisorHealth.answered(cause)) {
                tracker.answered();
            } else if (!(cause instanceof CircuitBreakerOpenException)) {
                tracker.unanswered(String.valueOf(cause.getMessage()));
            }
            Runnable settle = () -> {
                if (cause == null) {
                    result.complete(value);
                } else {
                    result.completeExceptionally(translate(tracker, cause));
                }
            };
            if (caller == null || returning.get() && Thread.currentThread() == callerThread) {
                settle.run();
            } else if (onEventLoop) {
                caller.runOnContext(v -> settle.run());
            } else {
                caller.executeBlocking(() -> {
                    settle.run();
                    return null;
                }, false);
            }
        });
        returning.set(false);
        return result;
    }

    @SuppressWarnings({ "unchecked", "rawtypes" })
    private static <T> TypeLiteral<CompletionStage<T>> stageType() {
        return (TypeLiteral) STAGE;
    }

    private static HypervisorException translate(HypervisorHealth.Tracker tracker, Throwable cause) {
        String id = tracker.hypervisorId;
        if (cause instanceof HypervisorException he) {
            return he;
        }
        if (cause instanceof CircuitBreakerOpenException) {
            return new HypervisorException("hypervisor " + id + " is skipped: its circuit breaker is open", true);
        }
        if (cause instanceof TimeoutException) {
            return HypervisorException.unreachable("hypervisor " + id + " did not answer in time", cause);
        }
        return new HypervisorException("hypervisor " + id + ": " + cause.getMessage(), true, cause);
    }
}
