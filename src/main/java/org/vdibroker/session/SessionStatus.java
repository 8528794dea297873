package org.vdibroker.session;

import org.infinispan.protostream.annotations.ProtoEnumValue;

/** State of a user's hold on a desktop. */
public enum SessionStatus {
    @ProtoEnumValue(number = 0, name = "SESSION_QUEUED") QUEUED,
    @ProtoEnumValue(number = 1, name = "SESSION_PROVISIONING") PROVISIONING,
    @ProtoEnumValue(number = 2, name = "SESSION_READY") READY,
    @ProtoEnumValue(number = 3, name = "SESSION_CONNECTED") CONNECTED,
    @ProtoEnumValue(number = 4, name = "SESSION_DISCONNECTED") DISCONNECTED,
    @ProtoEnumValue(number = 5, name = "SESSION_ENDED") ENDED;

    public boolean live() {
        return this != ENDED;
    }

    /** Has a desktop. */
    public boolean hasDesktop() {
        return this == READY || this == CONNECTED || this == DISCONNECTED;
    }
}
