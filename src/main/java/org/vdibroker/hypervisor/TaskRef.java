package org.vdibroker.hypervisor;

import java.io.Serializable;
import org.infinispan.protostream.annotations.ProtoField;

/**
 * Handle of a long hypervisor operation. Plain data, so it can be stored in the cluster and polled by whichever node
 * manages the pool next.
 */
public record TaskRef(@ProtoField(number = 1) String hypervisorId, @ProtoField(number = 2) String taskId,
        @ProtoField(number = 3) String vmRef) implements Serializable {
}
