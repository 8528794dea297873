package org.vdibroker.hypervisor;

/** What a driver reports it has: its capacity and what its VMs use now. */
public record HostUsage(HostCapacity capacity, int usedVcpus, long usedMemoryMb, int desktops) {
}
