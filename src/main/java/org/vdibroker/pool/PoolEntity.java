package org.vdibroker.pool;

import jakarta.persistence.CascadeType;
import jakarta.persistence.CollectionTable;
import jakarta.persistence.Column;
import jakarta.persistence.ElementCollection;
import jakarta.persistence.Entity;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import jakarta.persistence.FetchType;
import jakarta.persistence.Id;
import jakarta.persistence.JoinColumn;
import jakarta.persistence.MapKeyColumn;
import jakarta.persistence.OneToMany;
import jakarta.persistence.OrderBy;
import jakarta.persistence.OrderColumn;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.infinispan.protostream.annotations.ProtoEnumValue;
import org.infinispan.protostream.annotations.ProtoName;

/** A pool as an admin defined it. */
@Entity
@Table(name = "pool")
public class PoolEntity {

    @Id
    public String id;

    @Column(name = "display_name", nullable = false)
    public String displayName;

    @Enumerated(EnumType.STRING)
    @Column(nullable = false)
    public Assignment assignment;

    @Column(name = "min_size")
    public int minSize;

    public int spare;

    @Column(name = "max_size")
    public int maxSize;

    /** Comma-separated protocols in order of preference, e.g. {@code rdp,spice}. */
    @Column(nullable = false)
    public String protocols;

    @Column(name = "desktop_vcpus")
    public int desktopVcpus;

    @Column(name = "desktop_memory_mb")
    public long desktopMemoryMb;

    @Column(name = "idle_timeout_seconds")
    public long idleTimeoutSeconds;

    @Column(name = "disconnect_timeout_seconds")
    public long disconnectTimeoutSeconds;

    @Column(name = "refresh_on_logoff")
    public boolean refreshOnLogoff;

    @Column(name = "time_zone")
    public String timeZone;

    public boolean enabled;

    /** What the reconciler does with a VM that has the pool's naming but no record in the broker. */
    @Enumerated(EnumType.STRING)
    @Column(name = "unknown_vms", nullable = false)
    public UnknownVms unknownVms = UnknownVms.IGNORE;

    @OneToMany(mappedBy = "pool", cascade = CascadeType.ALL, orphanRemoval = true, fetch = FetchType.EAGER)
    @OrderBy("hypervisorId")
    public List<PoolTemplateEntity> templates = new ArrayList<>();

    @ElementCollection(fetch = FetchType.EAGER)
    @CollectionTable(name = "pool_entitlement", joinColumns = @JoinColumn(name = "pool_id"))
    public List<EntitlementEmbeddable> entitlements = new ArrayList<>();

    /** Spare targets by weekday and time of day; outside them {@code spare} applies. */
    @ElementCollection(fetch = FetchType.EAGER)
    @CollectionTable(name = "pool_schedule", joinColumns = @JoinColumn(name = "pool_id"))
    @OrderColumn(name = "list_index")
    public List<SpareWindowEmbeddable> schedules = new ArrayList<>();

    /** Raise the spare target ahead of the rushes the pool's login history predicts. */
    public boolean prewarm;

    /** Settings of the .rdp files the pool's connections get (see protocol/connection-settings.json). */
    @ElementCollection(fetch = FetchType.EAGER)
    @CollectionTable(name = "pool_rdp_setting", joinColumns = @JoinColumn(name = "pool_id"))
    @MapKeyColumn(name = "name")
    @Column(name = "setting_value", length = 16384)
    public Map<String, String> rdpSettings = new HashMap<>();

    /** Settings of the .vv (virt-viewer) files the pool's connections get. */
    @ElementCollection(fetch = FetchType.EAGER)
    @CollectionTable(name = "pool_vv_setting", joinColumns = @JoinColumn(name = "pool_id"))
    @MapKeyColumn(name = "name")
    @Column(name = "setting_value", length = 16384)
    public Map<String, String> vvSettings = new HashMap<>();

    @Column(name = "created_at")
    public Instant createdAt;

    @Column(name = "updated_at")
    public Instant updatedAt;

    @Version
    public long version;

    @ProtoName("PoolAssignment")
    public enum Assignment { @ProtoEnumValue(0) FLOATING, @ProtoEnumValue(1) DEDICATED }

    /**
     * ADOPT: the VM becomes a desktop of the pool, reverted to the template before anyone gets it. RETIRE: it is
     * deleted. IGNORE (the default): it is reported and left alone, since it may hold work the broker cannot vouch for.
     */
    public enum UnknownVms { @ProtoEnumValue(0) ADOPT, @ProtoEnumValue(1) RETIRE, @ProtoEnumValue(2) IGNORE }
}
