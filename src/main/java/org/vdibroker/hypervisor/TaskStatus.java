package org.vdibroker.hypervisor;

import java.time.Duration;

/** State of a long operation: still running (poll again after {@code retryAfter}), finished, or failed. */
public record TaskStatus(State state, String vmRef, String error, boolean retryable, Duration retryAfter) {

    public enum State { RUNNING, SUCCEEDED, FAILED }

    public static TaskStatus running(Duration retryAfter) {
        return new TaskStatus(State.RUNNING, null, null, false, retryAfter);
    }

    public static TaskStatus succeeded(String vmRef) {
        return new TaskStatus(State.SUCCEEDED, vmRef, null, false, Duration.ZERO);
    }

    public static TaskStatus failed(String error, boolean retryable) {
        return new TaskStatus(State.FAILED, null, error, retryable, Duration.ZERO);
    }
}
