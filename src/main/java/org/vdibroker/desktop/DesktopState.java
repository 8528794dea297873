package org.vdibroker.desktop;

import java.io.Serializable;
import java.time.Instant;
import org.vdibroker.hypervisor.TaskRef;

/**
 * Live state of one desktop, the value of its entry in the {@code desktops} cache. Immutable: every change is a new
 * value with {@code version + 1}, written with a conditional replace against the value it was derived from, so two
 * nodes racing on one desktop cannot both win (invariant 1).
 */
public record DesktopState(String id, String poolId, String hypervisorId, String name, String vmRef,
        DesktopStatus status, String sessionId, String owner, int publication, TaskRef task, int failures,
        Instant changedAt, long version) implements Serializable {

    DesktopState next(DesktopStatus status, String sessionId, String owner, TaskRef task, int failures, Instant now) {
        return new DesktopState(id, poolId, hypervisorId, name, vmRef, status, sessionId, owner, publication, task,
                failures, now, version + 1);
    }
}
