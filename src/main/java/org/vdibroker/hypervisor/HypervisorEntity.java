package org.vdibroker.hypervisor;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import jakarta.persistence.Version;
import java.time.Instant;

/** A hypervisor connection as stored. Credentials only ever appear here encrypted. */
@Entity
@Table(name = "hypervisor")
public class HypervisorEntity {

    @Id
    public String id;

    @Column(nullable = false)
    public String driver;

    public String endpoint;

    /** Non-secret driver properties as a JSON object. */
    @Column(name = "config_json", length = 8000)
    public String configJson;

    /** Secret driver properties: a JSON object encrypted with AES-GCM (see security.SecretCipher). */
    @Column(name = "credentials_encrypted", length = 8000)
    public String credentialsEncrypted;

    public int vcpus;

    @Column(name = "memory_mb")
    public long memoryMb;

    @Column(name = "max_desktops")
    public int maxDesktops;

    @Column(name = "concurrency_limit")
    public int concurrencyLimit;

    @Column(name = "cpu_overcommit")
    public double cpuOvercommit;

    @Column(name = "memory_overcommit")
    public double memoryOvercommit;

    public boolean maintenance;

    @Column(name = "created_at")
    public Instant createdAt;

    @Column(name = "updated_at")
    public Instant updatedAt;

    @Version
    public long version;
}
