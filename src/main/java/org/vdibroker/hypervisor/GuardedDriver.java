package org.vdibroker.hypervisor;

import jakarta.enterprise.util.TypeLiteral;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException;

/**
 * A driver whose every call goes through its hypervisor's circuit breaker and timeout, and tells
 * {@link HypervisorHealth} whether the hypervisor answered. Failures always come out as {@link HypervisorException}.
 * Only the base contract: callers that need an optional ability use the registry's driver.
 */
final class GuardedDriver implements HypervisorDriver {

    private final HypervisorDriver delegate;
    private final HypervisorHealth.Tracker tracker;

    GuardedDriver(HypervisorDriver delegate, HypervisorHealth.Tracker tracker) {
        this.delegate = delegate;
        this.tracker = tracker;
    }

    @Override
    public CompletionStage<HostUsage> usage() {
        return guarded(delegate::usage);
    }

    @Override
    public CompletionStage<List<VmInfo>> listVms(String namePrefix) {
        return guarded(() -> delegate.listVms(namePrefix));
    }

    @Override
    public CompletionStage<TaskRef> provision(ProvisionSpec spec) {
        return guarded(() -> delegate.provision(spec));
    }

    @Override
    public CompletionStage<TaskRef> powerOn(String vmRef) {
        return guarded(() -> delegate.powerOn(vmRef));
    }

    @Override
    public CompletionStage<TaskRef> powerOff(String vmRef) {
        return guarded(() -> delegate.powerOff(vmRef));
    }

    @Override
    public CompletionStage<TaskRef> revert(String vmRef) {
        return guarded(() -> delegate.revert(vmRef));
    }

    @Override
    public CompletionStage<TaskRef> delete(String vmRef) {
        return guarded(() -> delegate.delete(vmRef));
    }

    @Override
    public CompletionStage<TaskStatus> pollTask(TaskRef task) {
        return guarded(() -> delegate.pollTask(task));
    }

    @Override
    public CompletionStage<ConsoleAddress> consoleAddress(String vmRef, String protocol) {
        return guarded(() -> delegate.consoleAddress(vmRef, protocol));
    }

    /** The driver belongs to the registry, which closes it. */
    @Override
    public void close() {
    }

    private <T> CompletionStage<T> guarded(Supplier<CompletionStage<T>> call) {
        CompletionStage<T> stage;
        try {
            stage = tracker.guard.get(call, new TypeLiteral<CompletionStage<T>>() {
            });
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
            if (cause == null) {
                result.complete(value);
            } else {
                result.completeExceptionally(translate(cause));
            }
        });
        return result;
    }

    private HypervisorException translate(Throwable cause) {
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
