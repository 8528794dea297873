package org.vdibroker.persistence;

import java.io.Serializable;
import java.time.Instant;
import org.infinispan.protostream.annotations.ProtoFactory;
import org.infinispan.protostream.annotations.ProtoField;
import org.vdibroker.cluster.WireInstant;

/**
 * Why an outbox entry is not written yet although the database answers: how often in a row it was refused, the last
 * error, and whether it is parked (no longer retried every round, waiting for an admin to discard it).
 */
public record OutboxFailure(@ProtoField(number = 1) int attempts, @ProtoField(number = 2) String lastError,
        Instant lastAttemptAt, @ProtoField(number = 4) boolean parked) implements Serializable {

    /** Read from ProtoStream: {@code lastAttemptAt} travels as a {@link WireInstant} (field 3). */
    @ProtoFactory
    static OutboxFailure proto(int attempts, String lastError, WireInstant wireLastAttemptAt, boolean parked) {
        return new OutboxFailure(attempts, lastError, WireInstant.instant(wireLastAttemptAt), parked);
    }

    @ProtoField(number = 3)
    WireInstant wireLastAttemptAt() {
        return WireInstant.of(lastAttemptAt);
    }

    /** One more refusal; parked once {@code parkAfter} refusals in a row are reached. */
    OutboxFailure refusedAgain(String error, Instant at, int parkAfter) {
        int next = attempts + 1;
        return new OutboxFailure(next, error, at, next >= parkAfter);
    }

    static OutboxFailure first(String error, Instant at, int parkAfter) {
        return new OutboxFailure(0, null, null, false).refusedAgain(error, at, parkAfter);
    }
}
