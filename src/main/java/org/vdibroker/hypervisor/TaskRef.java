package org.vdibroker.hypervisor;

import java.io.Serializable;

/**
 * Handle of a long hypervisor operation. Plain data, so it can be stored in the cluster and polled by whichever node
 * manages the pool next.
 */
public record TaskRef(String hypervisorId, String taskId, String vmRef) implements Serializable {
}
