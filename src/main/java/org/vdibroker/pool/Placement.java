package org.vdibroker.pool;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.ToIntFunction;
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
        return round(pool).choose();
    }

    /** Placement of several desktops of a pool at once, made one after another before any of them is created. */
    public Round round(Pool pool) {
        return round(pool, hv -> 0);
    }

    /**
     * As {@link #round(Pool)}, counting {@code placedBefore} desktops on each hypervisor that earlier rounds placed
     * and whose creation has not reached the hypervisor's usage or the desktops' states yet.
     */
    public Round round(Pool pool, ToIntFunction<String> placedBefore) {
        return new Round(pool, placedBefore);
    }

    /**
     * The desktops placed so far in one round (and in earlier rounds, still being created), counted on their hosts
     * (they are not in the hypervisors' usage or the desktops' states yet), and each host's usage, read once per round.
     */
    public final class Round {
        private final Pool pool;
        private final Map<String, Optional<HostUsage>> usage = new HashMap<>();
        private final Map<String, Integer> placed = new HashMap<>();
        /** Each host's desktops placed by earlier rounds and still being created, read once per round. */
        private final Map<String, Integer> before = new HashMap<>();
        private final ToIntFunction<String> placedBefore;

        private Round(Pool pool, ToIntFunction<String> placedBefore) {
            this.pool = pool;
            this.placedBefore = placedBefore;
        }

        /** The template for the round's next desktop, counted on its host; empty when no host can take one more. */
        public Optional<Pool.Template> choose() {
            Pool.Template best = null;
            double bestScore = 0;
            for (Pool.Template template : pool.templates()) {
                String hv = template.hypervisorId();
                Optional<Hypervisor> h = hypervisors.get(hv);
                // empty while the hypervisor's circuit breaker is open
                Optional<HypervisorDriver> driver = health.backgroundDriver(hv);
                if (h.isEmpty() || driver.isEmpty() || h.get().maintenance() || health.lost(hv)
                        || !backoff.allows(pool.id(), hv)) {
                    continue;
                }
                int placedNow = placed.getOrDefault(hv, 0);
                if (placedNow > 0 && backoff.failing(pool.id(), hv)) {
                    continue; // its one trial is placed
                }
                int placedHere = placedNow + before.computeIfAbsent(hv, placedBefore::applyAsInt);
                // operations under way from the live state, plus the ones placed in this round and still being created
                if (desktops.operationsOn(hv) + placedHere >= h.get().concurrencyLimit()) {
                    continue;
                }
                Optional<HostUsage> used = usage.computeIfAbsent(hv, id -> usage(h.get(), driver.get()));
                double score = used.map(u -> freeShare(h.get(), u, placedHere + 1, pool)).orElse(0.0);
                if (score > bestScore) {
                    best = template;
                    bestScore = score;
                }
            }
            if (best != null) {
                placed.merge(best.hypervisorId(), 1, Integer::sum);
            }
            return Optional.ofNullable(best);
        }
    }

    /**
     * Why no template of the pool can take another desktop, when that is not passing: empty when a hypervisor is
     * only busy (its concurrency limit) or a template is in back-off after failures (their reason is already known).
     */
    public Optional<ProvisionProblem> whyNot(Pool pool) {
        StringBuilder capacity = new StringBuilder();
        StringBuilder unusable = new StringBuilder();
        for (Pool.Template template : pool.templates()) {
            String hv = template.hypervisorId();
            Optional<Hypervisor> h = hypervisors.get(hv);
            Optional<HypervisorDriver> driver = health.backgroundDriver(hv);
            if (!backoff.allows(pool.id(), hv) || h.isPresent() && desktops.operationsOn(hv) >= h.get()
                    .concurrencyLimit()) {
                return Optional.empty();
            }
            if (h.isEmpty() || driver.isEmpty() || h.get().maintenance() || health.lost(hv)) {
                append(unusable, hv + (h.isEmpty() ? " is not defined" : h.get().maintenance() ? " is in maintenance"
                        : " does not answer"));
                continue;
            }
            String misfit = misfit(h.get(), driver.get(), pool);
            if (misfit == null) {
                return Optional.empty(); // it fits now
            }
            append(capacity, misfit);
        }
        if (!capacity.isEmpty()) {
            return Optional.of(new ProvisionProblem("no-capacity", "no hypervisor has room for a desktop of "
                    + pool.desktopVcpus() + " vCPU and " + pool.desktopMemoryMb() + " MiB: " + capacity
                    + (unusable.isEmpty() ? "" : "; " + unusable), null, 0));
        }
        return Optional.of(new ProvisionProblem("no-hypervisor", "no usable hypervisor: " + unusable, null, 0));
    }

    private static void append(StringBuilder b, String s) {
        b.append(b.isEmpty() ? "" : "; ").append(s);
    }

    /** What does not fit on {@code h} for one more desktop, or null when it fits. */
    private String misfit(Hypervisor h, HypervisorDriver driver, Pool pool) {
        Optional<HostUsage> reported = usage(h, driver);
        if (reported.isEmpty()) {
            return h.id() + " did not report its usage";
        }
        HostUsage usage = reported.get();
        double cpuTotal = h.capacity().vcpus() * h.cpuOvercommit();
        double memTotal = h.capacity().memoryMb() * h.memoryOvercommit();
        StringBuilder b = new StringBuilder();
        if (cpuTotal - usage.usedVcpus() < pool.desktopVcpus()) {
            append(b, String.format(java.util.Locale.ROOT, "%.1f of %.1f vCPU in use", usage.usedVcpus() * 1.0,
                    cpuTotal));
        }
        if (memTotal - usage.usedMemoryMb() < pool.desktopMemoryMb()) {
            append(b, String.format(java.util.Locale.ROOT, "%d of %.0f MiB in use (the host's own use counts)",
                    usage.usedMemoryMb(), memTotal));
        }
        if (h.capacity().maxDesktops() - usage.desktops() < 1) {
            append(b, usage.desktops() + " of " + h.capacity().maxDesktops() + " desktops");
        }
        return b.isEmpty() ? null : h.id() + " has " + b;
    }

    private static Optional<HostUsage> usage(Hypervisor h, HypervisorDriver driver) {
        try {
            return Optional.of(driver.usage().toCompletableFuture().get(5, TimeUnit.SECONDS));
        } catch (Exception e) {
            LOG.debugf("Hypervisor %s did not report usage: %s", h.id(), e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Smallest remaining share of vCPU, RAM and desktop slots once {@code added} more desktops of the pool are on the
     * host; 0 when they do not fit.
     */
    private static double freeShare(Hypervisor h, HostUsage usage, int added, Pool pool) {
        double cpuTotal = h.capacity().vcpus() * h.cpuOvercommit();
        double memTotal = h.capacity().memoryMb() * h.memoryOvercommit();
        double cpuFree = cpuTotal - usage.usedVcpus() - (double) added * pool.desktopVcpus();
        double memFree = memTotal - usage.usedMemoryMb() - (double) added * pool.desktopMemoryMb();
        double slotsFree = h.capacity().maxDesktops() - usage.desktops() - added;
        if (cpuFree < 0 || memFree < 0 || slotsFree < 0) {
            return 0;
        }
        return Math.min(Math.min(cpuFree / cpuTotal, memFree / memTotal), slotsFree / h.capacity().maxDesktops())
                + 1e-9; // a host with exactly one slot left still scores above "does not fit"
    }
}
