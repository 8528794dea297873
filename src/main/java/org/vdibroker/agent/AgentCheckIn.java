package org.vdibroker.agent;

import java.io.Serializable;
import java.time.Instant;
import org.infinispan.protostream.annotations.ProtoFactory;
import org.infinispan.protostream.annotations.ProtoField;
import org.vdibroker.cluster.WireInstant;

/**
 * A desktop's agent checked in (any authenticated event) at {@code at}, with the secret whose hash starts with
 * {@code secretId}: enough to tell one secret of the desktop from the next, not to help guess it.
 */
public record AgentCheckIn(@ProtoField(number = 1) String secretId, Instant at) implements Serializable {

    /** Read from ProtoStream: {@code at} travels as a {@link WireInstant} (field 2). */
    @ProtoFactory
    static AgentCheckIn proto(String secretId, WireInstant wireAt) {
        return new AgentCheckIn(secretId, WireInstant.instant(wireAt));
    }

    @ProtoField(number = 2)
    WireInstant wireAt() {
        return WireInstant.of(at);
    }
}
