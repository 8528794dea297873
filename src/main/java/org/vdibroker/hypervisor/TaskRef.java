package org.vdibroker.hypervisor;

import org.infinispan.protostream.annotations.ProtoField;
import java.io.Serializable;

/**
 * Handle of a long hypervisor operation. Plain data, so it can be stored in the cluster and polled by whichever node
 * manages the pool next.
 */
public record TaskRef(@ProtoField(1) String hypervisorId, @ProtoField(2) String taskId, @ProtoField(3) String vmRef)
        implements Serializable {
}
