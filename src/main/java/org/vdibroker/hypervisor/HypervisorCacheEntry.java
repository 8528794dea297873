package org.vdibroker.hypervisor;

import org.infinispan.protostream.annotations.ProtoField;
import java.io.Serializable;

/**
 * A hypervisor definition as the cluster's definitions cache holds it: the stored row, credentials still encrypted
 * (they are decrypted only when a node creates the driver), so the cache never holds them in clear.
 */
public record HypervisorCacheEntry(@ProtoField(1) String id, @ProtoField(2) String driver,
        @ProtoField(3) String endpoint, @ProtoField(4) String configJson, @ProtoField(5) String credentialsEncrypted,
        @ProtoField(6) int vcpus, @ProtoField(7) long memoryMb, @ProtoField(8) int maxDesktops,
        @ProtoField(9) int concurrencyLimit, @ProtoField(10) double cpuOvercommit,
        @ProtoField(11) double memoryOvercommit, @ProtoField(12) boolean maintenance, @ProtoField(13) long version)
        implements Serializable {

    static HypervisorCacheEntry of(HypervisorEntity e) {
        return new HypervisorCacheEntry(e.id, e.driver, e.endpoint, e.configJson, e.credentialsEncrypted, e.vcpus,
                e.memoryMb, e.maxDesktops, e.concurrencyLimit, e.cpuOvercommit, e.memoryOvercommit, e.maintenance,
                e.version);
    }

    Hypervisor toModel() {
        return new Hypervisor(id, driver, endpoint, new HostCapacity(vcpus, memoryMb, maxDesktops), concurrencyLimit,
                cpuOvercommit, memoryOvercommit, maintenance, version);
    }

    /** No credentials in logs or debugger views, not even encrypted. */
    @Override
    public String toString() {
        return "HypervisorCacheEntry[" + id + ", " + driver + ", " + endpoint + ", version " + version + "]";
    }
}
