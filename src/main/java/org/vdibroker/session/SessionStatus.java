package org.vdibroker.session;

/** State of a user's hold on a desktop. */
public enum SessionStatus {
    QUEUED, PROVISIONING, READY, CONNECTED, DISCONNECTED, ENDED;

    public boolean live() {
        return this != ENDED;
    }

    /** Has a desktop. */
    public boolean hasDesktop() {
        return this == READY || this == CONNECTED || this == DISCONNECTED;
    }
}
