package org.vdibroker.pool;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.hypervisor.HostUsage;
import org.vdibroker.hypervisor.Hypervisor;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorHealth;
import org.vdibroker.hypervisor.HypervisorRegistry;

/**
 * Picks the hypervisor for a new desktop of a pool: among those the pool has a template for, not in maintenance,
 * with a closed circuit breaker, not lost, not backing off after failed provisions of the template, under their
 * concurrency limit and with room (vCPU and RAM with overcommit, max desktops), the one with the most
 * free capacity left.
 */
@ApplicationScoped
public class Placement {

    private static final Logger LOG = Logger.getLogger(Placement.class);

    @Inject
    HypervisorRegistry hypervisors;

    @Inject
    HypervisorHealth health;

    @Inject
    ProvisionBackoff backoff;

    @Inject
    DesktopService desktops;

    public Optional<Pool.Template> choose(Pool pool) {
        Pool.Template best = null;
        double bestScore = 0;
        for (Pool.Template template : pool.templates()) {
            Optional<Hypervisor> h = hypervisors.get(template.hypervisorId());
            // empty while the hypervisor's circuit breaker is open
            Optional<HypervisorDriver> driver = health.driver(template.hypervisorId());
            if (h.isEmpty() || driver.isEmpty() || h.get().maintenance() || health.lost(h.get().id())
                    || !backoff.allows(pool.id(), template.hypervisorId())) {
                continue;
            }
            // counted from the live state, so operations this tick started are already included
            if (desktops.operationsOn(h.get().id()) >= h.get().concurrencyLimit()) {
                continue;
            }
            double score = freeShare(h.get(), driver.get(), pool);
            if (score > bestScore) {
                best = template;
                bestScore = score;
            }
        }
        return Optional.ofNullable(best);
    }

    /** Smallest remaining share of vCPU, RAM and desktop slots after adding one desktop; 0 when it does not fit. */
    private double freeShare(Hypervisor h, HypervisorDriver driver, Pool pool) {
        HostUsage usage;
        try {
            usage = driver.usage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debugf("Hypervisor %s did not report usage: %s", h.id(), e.getMessage());
            return 0;
        }
        double cpuTotal = h.capacity().vcpus() * h.cpuOvercommit();
        double memTotal = h.capacity().memoryMb() * h.memoryOvercommit();
        double cpuFree = cpuTotal - usage.usedVcpus() - pool.desktopVcpus();
        double memFree = memTotal - usage.usedMemoryMb() - pool.desktopMemoryMb();
        double slotsFree = h.capacity().maxDesktops() - usage.desktops() - 1;
        if (cpuFree < 0 || memFree < 0 || slotsFree < 0) {
            return 0;
        }
        return Math.min(Math.min(cpuFree / cpuTotal, memFree / memTotal), slotsFree / h.capacity().maxDesktops())
                + 1e-9; // a host with exactly one slot left still scores above "does not fit"
    }
}
