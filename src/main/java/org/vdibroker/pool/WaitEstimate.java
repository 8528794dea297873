package org.vdibroker.pool;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.OptionalDouble;
import org.vdibroker.BrokerConfig;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.hypervisor.Hypervisor;
import org.vdibroker.hypervisor.HypervisorRegistry;

/**
 * How long a waiting user likely waits. Ready desktops go to the head of the queue. Behind them, once the pool has
 * supplied desktops lately (made or refreshed ones that became ready, at least four in the last ten minutes), the wait
 * is the desktops still needed over that rate: what the queue actually moves at, including every wait for a free
 * operation on a host. Before that, the desktops are made in rounds of as many as the pool's hypervisors take at once
 * (their concurrency limits), each round taking the observed provisioning time, plus half a pool manager tick before
 * the first round starts. Not modelled: the pool's max size (beyond it users wait for logoffs, which nobody can
 * foresee) and other pools' operations on the same hypervisors.
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
        OptionalDouble rate = desktops.readyRate(pool.id());
        if (rate.isPresent()) {
            return Math.round(needed / rate.getAsDouble());
        }
        long parallel = parallelism(pool);
        long rounds = (needed + parallel - 1) / parallel;
        double firstTick = config.poolManager().interval().toMillis() / 2000.0;
        return Math.round(rounds * stats.averageSeconds(pool.id()) + firstTick);
    }

    /**
     * How many desktops of the pool its hypervisors make at once: the sum of their concurrency limits, at least one.
     * (Not the desktops under way: in a storm the pool manager creates them faster than the hosts take them on.)
     */
    int parallelism(Pool pool) {
        long limit = 0;
        for (Pool.Template t : pool.templates()) {
            limit += hypervisors.get(t.hypervisorId()).filter(h -> !h.maintenance())
                    .map(Hypervisor::concurrencyLimit).orElse(0);
        }
        return (int) Math.max(1, limit);
    }
}
