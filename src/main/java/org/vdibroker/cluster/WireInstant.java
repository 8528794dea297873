package org.vdibroker.cluster;

import java.time.Instant;
import org.infinispan.protostream.annotations.ProtoField;
import org.infinispan.protostream.annotations.ProtoName;

/**
 * An instant as cache values carry it in ProtoStream: seconds and nanoseconds, as {@code google.protobuf.Timestamp}.
 * ProtoStream's own mapping of {@link Instant} keeps milliseconds only, and a value read back must equal the one
 * written: conditional replaces compare whole values, so a copy whose instants lost their microseconds would never
 * match the original again.
 */
@ProtoName("Instant")
public record WireInstant(@ProtoField(number = 1) long seconds, @ProtoField(number = 2) int nanos) {

    public static WireInstant of(Instant instant) {
        return instant == null ? null : new WireInstant(instant.getEpochSecond(), instant.getNano());
    }

    public static Instant instant(WireInstant wire) {
        return wire == null ? null : Instant.ofEpochSecond(wire.seconds, wire.nanos);
    }
}
