package org.vdibroker.hypervisor.simulator;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.time.Clock;
import java.util.List;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorDriverFactory;

/**
 * Creates {@code simulator} drivers: in-process hypervisors with realistic latency, capacity and failures, the
 * embedded default and the benchmark target. Capacity comes from the definition; the simulated VMs live in cache
 * {@code simulator-vms}. Uses the application's {@link Clock} bean when there is one, so tests can move time.
 */
@ApplicationScoped
public class SimulatorDriverFactory implements HypervisorDriverFactory {

    public static final String ID = "simulator";

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    Instance<Clock> clocks;

    private Clock clock;

    SimulatorDriverFactory() {
    }

    /** Outside CDI, e.g. in tests. */
    public SimulatorDriverFactory(EmbeddedCacheManager manager, Clock clock) {
        this.manager = manager;
        this.clock = clock;
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public List<DriverProperty> properties() {
        return SimulatorSettings.PROPERTIES;
    }

    @Override
    public void validate(HypervisorDefinition definition) {
        SimulatorSettings.validate(definition);
    }

    @Override
    public HypervisorDriver create(HypervisorDefinition definition) {
        SimulatorSettings settings = SimulatorSettings.from(definition);
        return new SimulatorDriver(definition, settings, new SimulatorStore(manager, clock()));
    }

    private Clock clock() {
        if (clock == null) {
            clock = clocks != null && clocks.isResolvable() ? clocks.get() : Clock.systemUTC();
        }
        return clock;
    }
}
