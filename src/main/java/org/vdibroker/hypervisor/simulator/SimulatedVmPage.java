package org.vdibroker.hypervisor.simulator;

import java.io.Serializable;
import java.util.Set;

/**
 * The refs of up to {@link SimulatorStore#PAGE_SIZE} VMs of one simulated host, by VM number. Listing a host reads its
 * pages, so it costs the host's VMs, not every VM of every host in the cache.
 */
record SimulatedVmPage(Set<String> vmRefs) implements Serializable {

    SimulatedVmPage {
        vmRefs = Set.copyOf(vmRefs);
    }
}
