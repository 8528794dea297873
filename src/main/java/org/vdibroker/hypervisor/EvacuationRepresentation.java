package org.vdibroker.hypervisor;

import java.time.Instant;
import java.util.List;

/**
 * Progress of a hypervisor's evacuation, as shown in the hypervisor's representation: desktops still on it, those a
 * session holds (they leave when their user logs off), and dedicated desktops waiting for their owner (they stay
 * until an admin recycles them). {@code done} once none is left: the hypervisor can then be deleted.
 */
public record EvacuationRepresentation(Instant startedAt, String startedBy, int desktopsLeft, int inUse,
        List<WaitingOwner> waitingOwners, boolean done, Instant finishedAt) {

    /** A dedicated desktop kept for its owner on the evacuating hypervisor. */
    public record WaitingOwner(String desktopId, String poolId, String owner) {
    }

    public String summary() {
        return "left=" + desktopsLeft + " in-use=" + inUse + " waiting-owners=" + waitingOwners.size();
    }
}
