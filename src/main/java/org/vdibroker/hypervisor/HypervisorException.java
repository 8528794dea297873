package org.vdibroker.hypervisor;

/**
 * A hypervisor operation that failed. {@code retryable} tells the pool manager whether trying again later may work
 * (host unreachable, busy) or not (template missing). {@code unreachable} says the hypervisor did not answer at all
 * (no connection, no answer in time), which alone counts against its circuit breaker and towards it being lost: a
 * hypervisor that answers with an error is there. Messages never carry credentials.
 */
public class HypervisorException extends RuntimeException {

    private final boolean retryable;
    private final boolean unreachable;

    public HypervisorException(String message, boolean retryable) {
        this(message, retryable, false, null);
    }

    public HypervisorException(String message, boolean retryable, Throwable cause) {
        this(message, retryable, false, cause);
    }

    private HypervisorException(String message, boolean retryable, boolean unreachable, Throwable cause) {
        super(message, cause);
        this.retryable = retryable;
        this.unreachable = unreachable;
    }

    /** The hypervisor did not answer (connection lost or refused, timed out): retryable. */
    public static HypervisorException unreachable(String message, Throwable cause) {
        return new HypervisorException(message, true, true, cause);
    }

    public boolean unreachable() {
        return unreachable;
    }

    public boolean retryable() {
        return retryable;
    }
}
