package org.vdibroker.desktop;

import java.io.Serializable;
import java.time.Instant;
import org.infinispan.protostream.annotations.ProtoFactory;
import org.infinispan.protostream.annotations.ProtoField;
import org.infinispan.protostream.annotations.ProtoName;
import org.vdibroker.cluster.WireInstant;

/**
 * The changes to one desktop's inventory row that wait in the outbox, folded into one entry: the row as created (if
 * that is not written yet) and the fields set since. Every field is set at most once in a desktop's life (the VM
 * reference when it is provisioned, the owner when a dedicated desktop is first claimed) and retirement is final and
 * clears the owner; so writing a change again, or an older change after a newer one, leaves the same row. The owner's
 * subject is set with the owner, or once later for an owner known only by name (bound at its first sign-in); the name
 * follows the owner's latest. The agent
 * secret's hash is set again at every refresh: the folded entry holds the latest, which is the one written.
 *
 * @param created the whole row of a new desktop, or null when the row exists already
 */
public record InventoryChange(@ProtoField(number = 1) String desktopId, @ProtoField(number = 2) Created created,
        @ProtoField(number = 3) String vmRef, @ProtoField(number = 4) String owner, Instant retiredAt,
        @ProtoField(number = 6) String agentSecretHash, @ProtoField(number = 7) String ownerSubject)
        implements Serializable {

    /** Read from ProtoStream: {@code retiredAt} travels as a {@link WireInstant} (field 5). */
    @ProtoFactory
    static InventoryChange proto(String desktopId, Created created, String vmRef, String owner,
            WireInstant wireRetiredAt, String agentSecretHash, String ownerSubject) {
        return new InventoryChange(desktopId, created, vmRef, owner, WireInstant.instant(wireRetiredAt),
                agentSecretHash, ownerSubject);
    }

    @ProtoField(number = 5)
    WireInstant wireRetiredAt() {
        return WireInstant.of(retiredAt);
    }

    /** The fields of a new desktop's row that never change. */
    @ProtoName("InventoryRowCreated")
    public record Created(@ProtoField(number = 1) String poolId, @ProtoField(number = 2) String hypervisorId,
            @ProtoField(number = 3) String name, @ProtoField(number = 4) int publication,
            @ProtoField(number = 5) String agentSecretHash, Instant createdAt) implements Serializable {

        /** Read from ProtoStream: {@code createdAt} travels as a {@link WireInstant} (field 6). */
        @ProtoFactory
        static Created proto(String poolId, String hypervisorId, String name, int publication, String agentSecretHash,
                WireInstant wireCreatedAt) {
            return new Created(poolId, hypervisorId, name, publication, agentSecretHash,
                    WireInstant.instant(wireCreatedAt));
        }

        @ProtoField(number = 6)
        WireInstant wireCreatedAt() {
            return WireInstant.of(createdAt);
        }
    }

    static InventoryChange none(String desktopId) {
        return new InventoryChange(desktopId, null, null, null, null, null, null);
    }

    InventoryChange withCreated(Created row) {
        return new InventoryChange(desktopId, row, vmRef, owner, retiredAt, agentSecretHash, ownerSubject);
    }

    InventoryChange withVmRef(String ref) {
        return new InventoryChange(desktopId, created, ref, owner, retiredAt, agentSecretHash, ownerSubject);
    }

    /** The owner's name and subject (null subject: an owner known only by name, see DesktopState). */
    InventoryChange withOwner(String user, String subject) {
        return new InventoryChange(desktopId, created, vmRef, user, retiredAt, agentSecretHash, subject);
    }

    /** The agent secret handed to the guest at its latest refresh (hash only). */
    InventoryChange withAgentSecretHash(String hash) {
        return new InventoryChange(desktopId, created, vmRef, owner, retiredAt, hash, ownerSubject);
    }

    /** Retired at {@code at}, unless retired before; the owner is let go. */
    InventoryChange withRetiredAt(Instant at) {
        return new InventoryChange(desktopId, created, vmRef, null, retiredAt == null ? at : retiredAt, agentSecretHash,
                null);
    }

    /** A new row for this change; null if the change does not create the desktop. */
    DesktopEntity newRow() {
        if (created == null) {
            return null;
        }
        DesktopEntity row = new DesktopEntity();
        row.id = desktopId;
        row.poolId = created.poolId();
        row.hypervisorId = created.hypervisorId();
        row.name = created.name();
        row.publication = created.publication();
        row.agentSecretHash = created.agentSecretHash();
        row.createdAt = created.createdAt();
        return row;
    }

    /** Applies the fields this change sets; a retired row stays as it is. */
    void applyTo(DesktopEntity row) {
        if (row.retiredAt != null) {
            return;
        }
        if (vmRef != null) {
            row.vmRef = vmRef;
        }
        if (agentSecretHash != null) {
            row.agentSecretHash = agentSecretHash;
        }
        if (retiredAt != null) {
            row.retiredAt = retiredAt;
            row.owner = null;
            row.ownerSub = null;
        } else if (owner != null) {
            row.owner = owner;
            if (ownerSubject != null) {
                row.ownerSub = ownerSubject;
            }
        }
    }
}
