package org.vdibroker.ops;

import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.lifecycle.ComponentStatus;

/** Ready when the cache manager runs and the node is not draining; a load balancer stops sending work otherwise. */
@Readiness
public class ReadinessCheck implements HealthCheck {

    @Inject
    NodeState node;

    @Inject
    EmbeddedCacheManager manager;

    @Override
    public HealthCheckResponse call() {
        boolean running = manager.getStatus() == ComponentStatus.RUNNING;
        int members = manager.getMembers() == null ? 1 : manager.getMembers().size();
        return HealthCheckResponse.named("broker-node")
                .status(running && !node.draining())
                .withData("draining", node.draining())
                .withData("cluster-members", members)
                .withData("cache-manager", manager.getStatus().name())
                .build();
    }
}
