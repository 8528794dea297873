package org.vdibroker.admin;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import org.vdibroker.desktop.DesktopState;

/**
 * A desktop with its live state, for admins. {@code owner} is the dedicated owner's name, {@code ownerSubject} their
 * subject (absent for an owner known only by name, until their first sign-in binds it).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DesktopRepresentation(String id, String poolId, String name, String hypervisorId, String vmRef,
        String state, String sessionId, String owner, String ownerSubject, int publication, int failures,
        Instant changedAt) {

    static DesktopRepresentation of(DesktopState d) {
        return new DesktopRepresentation(d.id(), d.poolId(), d.name(), d.hypervisorId(), d.vmRef(),
                d.status().name(), d.sessionId(), d.owner(), d.ownerSubject(), d.publication(), d.failures(),
                d.changedAt());
    }
}
