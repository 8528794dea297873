package org.vdibroker.pool;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.JoinColumn;
import jakarta.persistence.ManyToOne;
import jakarta.persistence.Table;

/** How a pool's desktops are made on one hypervisor; a new publication replaces the template reference. */
@Entity
@Table(name = "pool_template")
public class PoolTemplateEntity {

    @Id
    public String id;

    @ManyToOne(optional = false)
    @JoinColumn(name = "pool_id")
    public PoolEntity pool;

    @Column(name = "hypervisor_id", nullable = false)
    public String hypervisorId;

    @Column(name = "template_ref", nullable = false, length = 1000)
    public String templateRef;

    public int publication;
}
