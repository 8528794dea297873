package org.vdibroker.access.login;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.infinispan.AdvancedCache;
import org.jboss.logging.Logger;

/**
 * At most about {@code limit} attempts per key within any {@code window}, counted by every node of the cluster
 * together in an Infinispan cache: a client that the load balancer spreads over N nodes gets the limit once, not N
 * times.
 *
 * <p>The window slides approximately: each key counts attempts per fixed slot of one window length (cache key
 * {@code name|slot|key}, expiring after two windows), and an attempt is allowed while
 * {@code previous slot * (the part of it still inside the window) + current slot < limit}. Refused attempts are not
 * counted (as in {@link SlidingWindowLimiter}). Cost per attempt: one read of both slots and, when allowed, one
 * conditional write; a lost race (another node counted the same key meanwhile) reads and writes again. Every lost
 * race means another attempt was counted, so after at most {@code limit} of them the window is full and the attempt
 * is refused for that reason: a burst within the limit is never refused only because it raced with itself.
 *
 * <p>When the cache refuses (a node in a minority partition, a timeout), the attempt is checked by this node's own
 * {@link SlidingWindowLimiter} instead: the limits hold per node, as before, until the cluster answers again.
 */
public final class ClusterWindowLimiter {

    private static final Logger LOG = Logger.getLogger(ClusterWindowLimiter.class);
    /** Slot changes a single attempt may see while it retries (the clock moves on during a long race). */
    private static final int SLOT_CHANGES = 2;

    private final AdvancedCache<String, Long> counts;
    private final String name;
    private final int limit;
    private final long windowMillis;
    private final LongSupplier clock;
    private final SlidingWindowLimiter fallback;

    public ClusterWindowLimiter(AdvancedCache<String, Long> counts, String name, int limit, Duration window) {
        this(counts, name, limit, window, System::currentTimeMillis);
    }

    ClusterWindowLimiter(AdvancedCache<String, Long> counts, String name, int limit, Duration window,
            LongSupplier clock) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1");
        }
        this.counts = counts;
        this.name = name;
        this.limit = limit;
        this.windowMillis = Math.max(1, window.toMillis());
        this.clock = clock; // wall clock: the nodes' slots must line up
        this.fallback = new SlidingWindowLimiter(limit, window);
    }

    /**
     * Records an attempt for {@code key} if the window has room for it.
     *
     * @return {@link Duration#ZERO} when the attempt is allowed, else about how long until the window has room again
     */
    public Duration tryAcquire(String key) {
        try {
            return acquire(key);
        } catch (RuntimeException e) { // AvailabilityException, TimeoutException, a stopped cache
            LOG.debugf("Cluster-wide limit %s not reachable, counting on this node: %s", name, e.getMessage());
            return fallback.tryAcquire(key);
        }
    }

    private Duration acquire(String key) {
        // each lost race counted someone else's attempt: within limit + 1 reads of one slot the window is full
        int races = limit + 1 + SLOT_CHANGES;
        for (int race = 0; race < races; race++) {
            long now = clock.getAsLong();
            long slot = now / windowMillis;
            long elapsed = now - slot * windowMillis;
            String current = name + '|' + slot + '|' + key;
            String previous = name + '|' + (slot - 1) + '|' + key;
            Map<String, Long> found = counts.getAll(Set.of(current, previous));
            long cur = found.getOrDefault(current, 0L);
            long prev = found.getOrDefault(previous, 0L);
            long wait = waitMillis(prev, cur, elapsed);
            if (wait > 0) {
                // the estimate assumes the previous slot's attempts spread evenly and may say a little more than a
                // window; an exact sliding window never makes anyone wait longer than one
                return Duration.ofMillis(Math.min(wait, windowMillis));
            }
            long lifespan = 2 * windowMillis;
            boolean counted = cur == 0
                    ? counts.putIfAbsent(current, 1L, lifespan, TimeUnit.MILLISECONDS) == null
                    : counts.replace(current, cur, cur + 1, lifespan, TimeUnit.MILLISECONDS);
            if (counted) {
                return Duration.ZERO;
            }
        }
        // only reached if entries vanish under us (a cache cleared, a slot that expired early): refuse, do not spin
        return Duration.ofMillis(windowMillis / 10 + 1);
    }

    /**
     * 0 when one more attempt fits: {@code prev * (1 - t / window) + cur < limit} at {@code t = elapsed}; else the
     * time until it does, if nobody tries meanwhile.
     */
    long waitMillis(long prev, long cur, long elapsed) {
        double w = windowMillis;
        if (prev * (1 - elapsed / w) + cur < limit) {
            return 0;
        }
        if (cur < limit) { // the previous slot's share shrinks enough within this slot
            double t = w * (1 - (limit - cur) / (double) prev);
            return Math.max(1, (long) Math.ceil(t - elapsed) + 1);
        }
        // not before the next slot, where this slot's count becomes the shrinking share
        double t = w * (1 - (limit - 0.5) / cur);
        return Math.max(1, (long) Math.ceil(w - elapsed + Math.max(0, t)));
    }
}
