package org.vdibroker.pool;

import java.time.DayOfWeek;
import org.infinispan.protostream.annotations.ProtoAdapter;
import org.infinispan.protostream.annotations.ProtoEnumValue;
import org.infinispan.protostream.annotations.ProtoName;

/** {@link DayOfWeek} in ProtoStream (the days of a {@link SpareSchedule.Window}), numbered as ISO-8601 numbers them. */
@ProtoAdapter(DayOfWeek.class)
@ProtoName("DayOfWeek")
public enum WireDayOfWeek {
    @ProtoEnumValue(1) MONDAY, @ProtoEnumValue(2) TUESDAY, @ProtoEnumValue(3) WEDNESDAY, @ProtoEnumValue(4) THURSDAY,
    @ProtoEnumValue(5) FRIDAY, @ProtoEnumValue(6) SATURDAY, @ProtoEnumValue(7) SUNDAY
}
