package org.vdibroker.pool;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import java.time.Instant;

/** A hypervisor an admin is emptying; the row lives until the evacuation is undone or the hypervisor deleted. */
@Entity
@Table(name = "hypervisor_evacuation")
public class EvacuationEntity {

    @Id
    @Column(name = "hypervisor_id")
    public String hypervisorId;

    @Column(name = "started_at", nullable = false)
    public Instant startedAt;

    @Column(name = "started_by")
    public String startedBy;

    /** The progress summary last audited. */
    @Column(name = "last_progress")
    public String lastProgress;

    /** When no desktop was left on the hypervisor (first seen). */
    @Column(name = "finished_at")
    public Instant finishedAt;
}
