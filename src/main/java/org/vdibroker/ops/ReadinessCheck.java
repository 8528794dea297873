package org.vdibroker.ops;

import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;
import org.infinispan.lifecycle.ComponentStatus;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.partitionhandling.AvailabilityMode;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.DefinitionSource;
import org.vdibroker.hypervisor.HypervisorRegistry;
import org.vdibroker.persistence.Outbox;
import org.vdibroker.pool.PoolCatalog;

/**
 * Ready when the cache manager runs and the node is not draining; a load balancer stops sending work otherwise. The
 * identity provider and the database are shown in the details but never make the node unready.
 */
@Readiness
public class ReadinessCheck implements HealthCheck {

    @Inject
    NodeState node;

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    IdentityProviderProbe identityProvider;

    @Inject
    Outbox outbox;

    @Inject
    org.vdibroker.pool.ProvisionProblems provisionProblems;

    @Inject
    HypervisorRegistry hypervisors;

    @Inject
    PoolCatalog pools;

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
                // shown, not counted either: with the database down, brokering goes on and writes wait in the outbox
                .withData("database", outbox.databaseState())
                .withData("outbox-pending", outbox.pending())
                .withData("outbox-parked", outbox.parked())
                // where hypervisor and pool definitions come from: the database, or the cluster's cache if it's down
                .withData("definitions", definitionSource())
                .withData("cluster-members", members)
                // shown, not counted: a pool that cannot provision is the admin's to fix, the node serves the rest
                .withData("pools-cannot-provision", running ? cannotProvision() : "unknown")
                .withData("cache-manager", manager.getStatus().name())
                .build();
    }

    /** "none", or each blocked pool with its kind: {@code pool: kind; ...}. */
    private String cannotProvision() {
        try {
            String blocked = provisionProblems.all().entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                    .map(e -> e.getKey() + ": " + e.getValue().kind())
                    .collect(java.util.stream.Collectors.joining("; "));
            return blocked.isEmpty() ? "none" : blocked;
        } catch (RuntimeException e) {
            return "unknown";
        }
    }

    /** "database" when both were read from it in their last round, "cluster" when either came from the cache. */
    private String definitionSource() {
        DefinitionSource h = hypervisors.source();
        DefinitionSource p = pools.source();
        if (h == null || p == null) {
            return "none";
        }
        return (h == DefinitionSource.CLUSTER || p == DefinitionSource.CLUSTER ? DefinitionSource.CLUSTER
                : DefinitionSource.DATABASE).label();
    }
}
