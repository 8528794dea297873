package org.vdibroker.hypervisor;

/** A VM as the hypervisor reports it. */
public record VmInfo(String vmRef, String name, PowerState power, int vcpus, long memoryMb) {

    public enum PowerState { RUNNING, STOPPED, SUSPENDED, UNKNOWN }
}
