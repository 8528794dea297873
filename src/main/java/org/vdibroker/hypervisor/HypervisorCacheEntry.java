package org.vdibroker.hypervisor;

import java.io.Serializable;

/**
 * A hypervisor definition as the cluster's definitions cache holds it: the stored row, credentials still encrypted
 * (they are decrypted only when a node creates the driver), so the cache never holds them in clear.
 */
public record HypervisorCacheEntry(String id, String driver, String endpoint, String configJson,
        String credentialsEncrypted, int vcpus, long memoryMb, int maxDesktops, int concurrencyLimit,
        double cpuOvercommit, double memoryOvercommit, boolean maintenance, long version) implements Serializable {

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
