package org.vdibroker.hypervisor;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waiting for a driver call on a background thread (the pool manager's, never a request thread). */
public final class DriverCalls {

    private DriverCalls() {
    }

    /**
     * The call's result, or the HypervisorException it failed with; a call not answered within {@code timeout} is
     * an unreachable hypervisor. Guarded drivers time out on their own first: this bound is the safety net.
     */
    public static <T> T await(CompletionStage<T> stage, Duration timeout) {
        try {
            return stage.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("interrupted", true);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof HypervisorException he) {
                throw he;
            }
            throw new HypervisorException(String.valueOf(e.getCause().getMessage()), true, e.getCause());
        } catch (TimeoutException e) {
            throw HypervisorException.unreachable("hypervisor did not answer in " + timeout.toMillis() + " ms", e);
        }
    }
}
