package org.vdibroker.hypervisor;

import java.io.Serializable;
import org.infinispan.protostream.annotations.ProtoField;

/**
 * A hypervisor definition as the cluster's definitions cache holds it: the stored row, credentials still encrypted
 * (they are decrypted only when a node creates the driver), so the cache never holds them in clear.
 */
public record HypervisorCacheEntry(@ProtoField(number = 1) String id, @ProtoField(number = 2) String driver,
        @ProtoField(number = 3) String endpoint, @ProtoField(number = 4) String configJson,
        @ProtoField(number = 5) String credentialsEncrypted, @ProtoField(number = 6) int vcpus,
        @ProtoField(number = 7) long memoryMb, @ProtoField(number = 8) int maxDesktops,
        @ProtoField(number = 9) int concurrencyLimit, @ProtoField(number = 10) double cpuOvercommit,
        @ProtoField(number = 11) double memoryOvercommit, @ProtoField(number = 12) boolean maintenance,
        @ProtoField(number = 13) long version) implements Serializable {

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
