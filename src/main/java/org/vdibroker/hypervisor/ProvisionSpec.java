package org.vdibroker.hypervisor;

import java.util.Map;

/**
 * What to create: a VM named {@code name} from {@code templateRef} (base image, VM template or snapshot, meaning is
 * the driver's), with the given size. {@code metadata} is handed to the guest (e.g. the agent's secret and the broker
 * URL) the way the hypervisor allows.
 */
public record ProvisionSpec(String name, String templateRef, int vcpus, long memoryMb, Map<String, String> metadata) {

    public ProvisionSpec {
        metadata = Map.copyOf(metadata);
    }

    @Override
    public String toString() {
        return "ProvisionSpec[name=" + name + ", templateRef=" + templateRef + "]";
    }
}
