package org.vdibroker.pool;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.vdibroker.BrokerConfig;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.hypervisor.Hypervisor;
import org.vdibroker.hypervisor.HypervisorRegistry;

/**
 * How long a waiting user likely waits, from the pool's pipeline: ready desktops go to the head of the queue; the
 * desktops being made or refreshed come next, each after the provisioning time less how long it has been under way
 * (oldest first); everyone further back needs a desktop that starts only when one of the hypervisors' operation slots
 * frees (the sum of their concurrency limits), one provisioning time per round of slots. The provisioning time is
 * the pool's observed mean from start to ready, which every node measures from the same cache events (before any
 * completed: this node's own figure, else a default). Each round also waits about half a pool manager tick for the
 * next desktop to be started, and the user half a tick to be handed theirs.
 * <p>
 * Why not a measured supply rate: a storm's completions come in bursts (the first round of slots starts together), so
 * a rate over the latest completions swung by a factor of two within a minute, and before a storm it was the rate of
 * the spares made minutes earlier, decaying while nobody needed any. Not modelled: the pool's max size (beyond it
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
        double provisioning = desktops.provisioningSeconds(pool.id()).orElseGet(() -> stats.averageSeconds(pool.id()));
        double halfTick = halfTick();
        double[] coming = desktops.comingAges(pool.id()); // oldest first
        long parallel = parallelism(pool);
        // desktop number `needed` in the order they become ready: `rounds` slot rounds after the coming one it
        // follows (none: a slot is free now)
        long rounds = needed <= coming.length ? 0 : (needed - coming.length + parallel - 1) / parallel;
        long follows = needed - rounds * parallel;
        double first = follows <= 0 ? 0 : Math.max(0, provisioning - coming[(int) follows - 1]);
        return Math.round(first + rounds * (provisioning + halfTick) + halfTick);
    }

    /** Half the pool manager's tick: on average, how long a step waits for the next tick. */
    double halfTick() {
        return config.poolManager().interval().toMillis() / 2000.0;
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
