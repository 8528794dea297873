package org.vdibroker.desktop;

import java.io.Serializable;
import java.time.Instant;
import org.infinispan.protostream.annotations.ProtoFactory;
import org.infinispan.protostream.annotations.ProtoField;
import org.vdibroker.cluster.WireInstant;
import org.vdibroker.hypervisor.TaskRef;

/**
 * Live state of one desktop, the value of its entry in the {@code desktops} cache. Immutable: every change is a new
 * value with {@code version + 1}, written with a conditional replace against the value it was derived from, so two
 * nodes racing on one desktop cannot both win (invariant 1).
 *
 * <p>A dedicated desktop's owner is {@code ownerSubject} (the token's {@code sub}); {@code owner} is the name shown.
 * A desktop assigned before owners had subjects has only the name: the first sign-in of that name binds it to their
 * subject, and from then on only that subject matches (see {@link #ownedBy}).
 */
public record DesktopState(@ProtoField(number = 1) String id, @ProtoField(number = 2) String poolId,
        @ProtoField(number = 3) String hypervisorId, @ProtoField(number = 4) String name,
        @ProtoField(number = 5) String vmRef, @ProtoField(number = 6) DesktopStatus status,
        @ProtoField(number = 7) String sessionId, @ProtoField(number = 8) String owner,
        @ProtoField(number = 9) String ownerSubject, @ProtoField(number = 10) int publication,
        @ProtoField(number = 11) TaskRef task, @ProtoField(number = 12) int failures, Instant changedAt,
        @ProtoField(number = 14) long version) implements Serializable {

    /** Read from ProtoStream: {@code changedAt} travels as a {@link WireInstant} (field 13). */
    @ProtoFactory
    static DesktopState proto(String id, String poolId, String hypervisorId, String name, String vmRef,
            DesktopStatus status, String sessionId, String owner, String ownerSubject, int publication, TaskRef task,
            int failures, WireInstant wireChangedAt, long version) {
        return new DesktopState(id, poolId, hypervisorId, name, vmRef, status, sessionId, owner, ownerSubject,
                publication, task, failures, WireInstant.instant(wireChangedAt), version);
    }

    @ProtoField(number = 13)
    WireInstant wireChangedAt() {
        return WireInstant.of(changedAt);
    }

    /** Keeps the owner (and its subject) as it is; a desktop let go ({@code owner} null) has no subject either. */
    DesktopState next(DesktopStatus status, String sessionId, String owner, TaskRef task, int failures, Instant now) {
        return new DesktopState(id, poolId, hypervisorId, name, vmRef, status, sessionId, owner,
                owner == null ? null : ownerSubject, publication, task, failures, now, version + 1);
    }

    /**
     * Whether this dedicated desktop is the user's: by subject once bound; an owner known only by name (assigned
     * before the upgrade that brought subjects) is matched by name, until that match binds it.
     */
    public boolean ownedBy(String subject, String user) {
        if (owner == null) {
            return false;
        }
        return ownerSubject != null ? ownerSubject.equals(subject) : owner.equals(user);
    }
}
