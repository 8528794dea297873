package org.vdibroker.desktop;

/** Live state of a desktop; see the life cycle in ARCHITECTURE.md. */
public enum DesktopStatus {
    PROVISIONING, STARTING, READY, ASSIGNED, IN_USE, DISCONNECTED, REFRESHING, FAILED, RETIRING, DELETED, LOST;

    /** Held by a session: not free for anyone else. */
    public boolean held() {
        return this == ASSIGNED || this == IN_USE || this == DISCONNECTED;
    }

    /** Counts towards the pool's size. */
    public boolean counted() {
        return this != DELETED && this != RETIRING && this != FAILED && this != LOST;
    }
}
