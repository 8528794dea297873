package org.vdibroker.hypervisor.simulator;

import java.io.Serializable;
import java.util.HashSet;
import java.util.Set;
import org.infinispan.protostream.annotations.ProtoField;

/**
 * The refs of up to {@link SimulatorStore#PAGE_SIZE} VMs of one simulated host, by VM number. Listing a host reads its
 * pages, so it costs the host's VMs, not every VM of every host in the cache.
 */
public record SimulatedVmPage(@ProtoField(number = 1, collectionImplementation = HashSet.class) Set<String> vmRefs)
        implements Serializable {

    public SimulatedVmPage {
        vmRefs = Set.copyOf(vmRefs);
    }
}
