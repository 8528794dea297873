package org.vdibroker.desktop;

import org.infinispan.protostream.annotations.ProtoEnumValue;

/** Live state of a desktop; see the life cycle in ARCHITECTURE.md. */
public enum DesktopStatus {
    @ProtoEnumValue(number = 0, name = "DESKTOP_PROVISIONING") PROVISIONING,
    @ProtoEnumValue(number = 1, name = "DESKTOP_STARTING") STARTING,
    @ProtoEnumValue(number = 2, name = "DESKTOP_READY") READY,
    @ProtoEnumValue(number = 3, name = "DESKTOP_ASSIGNED") ASSIGNED,
    @ProtoEnumValue(number = 4, name = "DESKTOP_IN_USE") IN_USE,
    @ProtoEnumValue(number = 5, name = "DESKTOP_DISCONNECTED") DISCONNECTED,
    @ProtoEnumValue(number = 6, name = "DESKTOP_REFRESHING") REFRESHING,
    @ProtoEnumValue(number = 7, name = "DESKTOP_FAILED") FAILED,
    @ProtoEnumValue(number = 8, name = "DESKTOP_RETIRING") RETIRING,
    @ProtoEnumValue(number = 9, name = "DESKTOP_DELETED") DELETED,
    @ProtoEnumValue(number = 10, name = "DESKTOP_LOST") LOST;

    /** Held by a session: not free for anyone else. */
    public boolean held() {
        return this == ASSIGNED || this == IN_USE || this == DISCONNECTED;
    }

    /** Counts towards the pool's size. */
    public boolean counted() {
        return this != DELETED && this != RETIRING && this != FAILED && this != LOST;
    }
}
