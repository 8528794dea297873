package org.vdibroker.hypervisor;

/** Capacity of a hypervisor as an admin configured it or a driver reported it. */
public record HostCapacity(int vcpus, long memoryMb, int maxDesktops) {
}
