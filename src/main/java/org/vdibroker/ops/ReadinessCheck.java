package org.vdibroker.ops;

import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.lifecycle.ComponentStatus;
import org.infinispan.partitionhandling.AvailabilityMode;
import org.vdibroker.cluster.CacheNames;

/** Ready when the cache manager runs and the node is not draining; a load balancer stops sending work otherwise. */
@Readiness
public class ReadinessCheck implements HealthCheck {

    @Inject
    NodeState node;

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    IdentityProviderProbe identityProvider;

    @Override
    public HealthCheckResponse call() {
        boolean running = manager.getStatus() == ComponentStatus.RUNNING;
        int members = manager.getMembers() == null ? 1 : manager.getMembers().size();
        // a node in a minority partition refuses writes: the load balancer should send users elsewhere
        AvailabilityMode availability = running
                ? manager.getCache(CacheNames.DESKTOPS).getAdvancedCache().getAvailability()
                : AvailabilityMode.DEGRADED_MODE;
        return HealthCheckResponse.named("broker-node")
                .status(running && !node.draining() && availability == AvailabilityMode.AVAILABLE)
                .withData("live-state", availability.name())
                .withData("draining", node.draining())
                // shown, not counted: with Keycloak down, holders of valid tokens are still served
                .withData("identity-provider", identityProvider.state())
                .withData("cluster-members", members)
                .withData("cache-manager", manager.getStatus().name())
                .build();
    }
}
