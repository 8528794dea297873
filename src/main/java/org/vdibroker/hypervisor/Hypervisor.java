package org.vdibroker.hypervisor;

/** A hypervisor as the broker uses it (no credentials): capacity, limits and whether it takes new desktops. */
public record Hypervisor(String id, String driver, String endpoint, HostCapacity capacity, int concurrencyLimit,
        double cpuOvercommit, double memoryOvercommit, boolean maintenance, long version) {
}
