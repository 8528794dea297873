package org.vdibroker.desktop;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** The durable inventory record of a desktop; its live state is in the cluster (DesktopState). */
@Entity
@Table(name = "desktop")
public class DesktopEntity {

    @Id
    public String id;

    @Column(name = "pool_id", nullable = false)
    public String poolId;

    @Column(name = "hypervisor_id", nullable = false)
    public String hypervisorId;

    @Column(nullable = false)
    public String name;

    @Column(name = "vm_ref")
    public String vmRef;

    public int publication;

    /** For dedicated pools: the name of the user the desktop belongs to, as shown. */
    public String owner;

    /**
     * For dedicated pools: the subject ({@code sub}) of the user the desktop belongs to. Null with an owner for a
     * desktop assigned before owners had subjects: the first sign-in of that name binds it.
     */
    @Column(name = "owner_sub")
    public String ownerSub;

    /** SHA-256 of the agent's per-desktop secret (hex); the secret itself is only handed to the guest. */
    @Column(name = "agent_secret_hash")
    public String agentSecretHash;

    @Column(name = "created_at")
    public Instant createdAt;

    @Column(name = "retired_at")
    public Instant retiredAt;
}
