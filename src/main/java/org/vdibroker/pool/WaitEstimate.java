package org.vdibroker.pool;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.vdibroker.BrokerConfig;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.hypervisor.Hypervisor;
import org.vdibroker.hypervisor.HypervisorRegistry;

/**
 * How long a waiting user likely waits. Ready desktops go to the head of the queue; the desktops behind those are
 * made in rounds of as many as the pool can make at once (the concurrency limits of its hypervisors, the pool
 * manager's batch, or more if more are already under way), each round taking the observed provisioning time, plus
 * half a pool manager tick on average before the first round starts. Not modelled: the pool's max size (beyond it
 * users wait for logoffs, which nobody can foresee) and other pools' operations on the same hypervisors.
 */
@ApplicationScoped
public class WaitEstimate {

    @Inject
    ProvisioningStats stats;
    @Inject
    DesktopService desktops;
    @Inject
    HypervisorRegistry hypervisors;
    @Inject
    BrokerConfig config;

    /** Seconds until the user at queue {@code position} (1 = head) likely has a desktop; 0 when one is ready. */
    public long seconds(Pool pool, int position) {
        int ready = desktops.readyCount(pool.id());
        if (position <= ready) {
            return 0;
        }
        long needed = position - ready;
        long parallel = Math.max(desktops.comingCount(pool.id()), parallelism(pool));
        long rounds = (needed + parallel - 1) / parallel;
        double firstTick = config.poolManager().interval().toMillis() / 2000.0;
        return Math.round(rounds * stats.averageSeconds(pool.id()) + firstTick);
    }

    /** How many desktops of the pool can be under way at once: at least one. */
    int parallelism(Pool pool) {
        long limit = 0;
        for (Pool.Template t : pool.templates()) {
            limit += hypervisors.get(t.hypervisorId()).filter(h -> !h.maintenance())
                    .map(Hypervisor::concurrencyLimit).orElse(0);
        }
        return (int) Math.max(1, Math.min(limit, config.poolManager().batchSize()));
    }
}
