package org.vdibroker.persistence;

import java.io.Serializable;
import java.time.Instant;

/**
 * Why an outbox entry is not written yet although the database answers: how often in a row it was refused, the last
 * error, and whether it is parked (no longer retried every round, waiting for an admin to discard it).
 */
public record OutboxFailure(int attempts, String lastError, Instant lastAttemptAt, boolean parked)
        implements Serializable {

    /** One more refusal; parked once {@code parkAfter} refusals in a row are reached. */
    OutboxFailure refusedAgain(String error, Instant at, int parkAfter) {
        int next = attempts + 1;
        return new OutboxFailure(next, error, at, next >= parkAfter);
    }

    static OutboxFailure first(String error, Instant at, int parkAfter) {
        return new OutboxFailure(0, null, null, false).refusedAgain(error, at, parkAfter);
    }
}
