package org.vdibroker.pool;

import java.io.Serializable;
import java.time.Instant;
import org.infinispan.protostream.annotations.ProtoFactory;
import org.infinispan.protostream.annotations.ProtoField;
import org.vdibroker.cluster.WireInstant;

/**
 * Why a pool cannot provision desktops now. {@code kind} is stable for clients and alerts: {@code no-capacity},
 * {@code template-missing}, {@code network-inactive}, {@code network-missing}, {@code failing} (provisions or starts
 * fail repeatedly), {@code no-hypervisor} (none of its hypervisors is usable), {@code agent-silent} (desktops' agents
 * never check in: see SilentAgents). {@code detail} is a sentence for the admin.
 */
public record ProvisionProblem(@ProtoField(number = 1) String kind, @ProtoField(number = 2) String detail,
        Instant since, @ProtoField(number = 4) int failures) implements Serializable {

    /** Read from ProtoStream: {@code since} travels as a {@link WireInstant} (field 3). */
    @ProtoFactory
    static ProvisionProblem proto(String kind, String detail, WireInstant wireSince, int failures) {
        return new ProvisionProblem(kind, detail, WireInstant.instant(wireSince), failures);
    }

    @ProtoField(number = 3)
    WireInstant wireSince() {
        return WireInstant.of(since);
    }
}
