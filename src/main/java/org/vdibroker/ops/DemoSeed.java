package org.vdibroker.ops;

import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;
import org.vdibroker.hypervisor.HypervisorRepresentation;
import org.vdibroker.hypervisor.HypervisorService;
import org.vdibroker.pool.PoolRepresentation;
import org.vdibroker.pool.PoolService;

/**
 * With {@code broker.demo.enabled}, an empty broker gets the simulator hypervisor {@code simulator-1} and the
 * floating pool {@code demo} for the realm's demo groups, through the same services (and checks) admins use.
 */
@Singleton
public class DemoSeed {

    private static final Logger LOG = Logger.getLogger(DemoSeed.class);

    @Inject
    BrokerConfig config;
    @Inject
    HypervisorService hypervisors;
    @Inject
    PoolService pools;

    void onStart(@Observes @Priority(10) StartupEvent event) {
        if (!config.demo().enabled() || !hypervisors.list().isEmpty()) {
            return;
        }
        hypervisors.create(new HypervisorRepresentation("simulator-1", "simulator", "simulator://local",
                Map.of("cloneLatencyMs", "2000", "bootLatencyMs", "3000", "latencyJitter", "0.2"), Map.of(),
                new HypervisorRepresentation.Capacity(64, 262144, 200), 20, 4.0, 1.0, false, null, null, null, null),
                "demo");
        pools.createDeferringGroupChecks(new PoolRepresentation("demo", "Demo desktops", "floating", 2, 2, 20,
                List.of("rdp", "spice", "vnc"), new PoolRepresentation.DesktopSize(2, 4096), 3600L, 900L,
                "UTC", true, List.of(new PoolRepresentation.Template("simulator-1", "demo-template-v1", null)),
                new PoolRepresentation.Entitlements(List.of("/vdi-users", "/engineering"), List.of()), null, null,
                null, null, null, null, null),
                "demo");
        LOG.info("Demo set up: hypervisor simulator-1 and pool demo");
    }
}
