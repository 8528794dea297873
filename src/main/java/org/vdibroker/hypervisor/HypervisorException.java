package org.vdibroker.hypervisor;

/**
 * A hypervisor operation that failed. {@code retryable} tells the pool manager whether trying again later may work
 * (host unreachable, busy) or not (template missing). Messages never carry credentials.
 */
public class HypervisorException extends RuntimeException {

    private final boolean retryable;

    public HypervisorException(String message, boolean retryable) {
        super(message);
        this.retryable = retryable;
    }

    public HypervisorException(String message, boolean retryable, Throwable cause) {
        super(message, cause);
        this.retryable = retryable;
    }

    public boolean retryable() {
        return retryable;
    }
}
