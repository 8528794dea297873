package org.vdibroker.access.login;

import java.io.Serializable;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.LongSupplier;
import org.infinispan.AdvancedCache;
import org.infinispan.protostream.annotations.ProtoField;
import org.infinispan.protostream.annotations.ProtoName;
import org.jboss.logging.Logger;

/**
 * At most about {@code limit} attempts per key within any {@code window}, counted by every node of the cluster
 * together in an Infinispan cache: a client that the load balancer spreads over N nodes gets the limit once, not N
 * times.
 *
 * <p>The window slides approximately: each key counts attempts per fixed slot of one window length, keeping the
 * current slot's count and the previous one's (cache key {@code name|key}, expiring two windows after its last
 * attempt), and an attempt is allowed while {@code previous * (the part of the previous slot still inside the window)
 * + current < limit}. Refused attempts are not counted (as in {@link SlidingWindowLimiter}). Cost per attempt: one
 * {@code merge} on the key, which Infinispan runs at the key's primary owner under its lock ({@link Count} decides
 * there): one round trip whoever else counts the same key, where a read of two slot keys and a conditional write
 * took two, and a third for every lost race.
 *
 * <p>When the cache refuses (a node in a minority partition, a timeout), the attempt is checked by this node's own
 * {@link SlidingWindowLimiter} instead: the limits hold per node, as before, until the cluster answers again.
 */
public final class ClusterWindowLimiter {

    private static final Logger LOG = Logger.getLogger(ClusterWindowLimiter.class);

    private final AdvancedCache<String, Object> counts;
    private final String name;
    private final int limit;
    private final long windowMillis;
    private final LongSupplier clock;
    private final SlidingWindowLimiter fallback;

    public ClusterWindowLimiter(AdvancedCache<String, Object> counts, String name, int limit, Duration window) {
        this(counts, name, limit, window, System::currentTimeMillis);
    }

    ClusterWindowLimiter(AdvancedCache<String, Object> counts, String name, int limit, Duration window,
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
        long now = clock.getAsLong();
        Counts after = (Counts) counts.merge(key(key), new Counts(now / windowMillis, 0, 1, 0),
                new Count(limit, windowMillis, now), 2 * windowMillis, TimeUnit.MILLISECONDS);
        // the estimate assumes the previous slot's attempts spread evenly and may say a little more than a window; an
        // exact sliding window never makes anyone wait longer than one
        return after.refusedFor() == 0 ? Duration.ZERO : Duration.ofMillis(Math.min(after.refusedFor(), windowMillis));
    }

    /** The cache key of {@code key}'s counts. */
    String key(String key) {
        return name + '|' + key;
    }

    /**
     * 0 when one more attempt fits: {@code prev * (1 - t / window) + cur < limit} at {@code t = elapsed}; else the
     * time until it does, if nobody tries meanwhile.
     */
    static long waitMillis(int limit, long windowMillis, long prev, long cur, long elapsed) {
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

    /**
     * A key's attempts in slot {@code slot} and the one before it, and how long the last attempt was told to wait (0:
     * it was allowed and counted). Travels between nodes: named on the cache marshaller's allow-list.
     */
    @ProtoName("WindowCounts")
    public record Counts(@ProtoField(number = 1) long slot, @ProtoField(number = 2) long previous,
            @ProtoField(number = 3) long current, @ProtoField(number = 4) long refusedFor) implements Serializable {

        /** The counts as seen from slot {@code now}: the current slot's become the previous ones, older ones none. */
        Counts in(long now) {
            if (now <= slot) { // a node whose clock is a little behind the one that wrote: count in the newer slot
                return this;
            }
            return new Counts(now, now == slot + 1 ? current : 0, 0, 0);
        }
    }

    /**
     * Counts one attempt made at {@code now} (the attempting node's clock) if the window has room: run by the key's
     * primary owner under the key's lock. A class of its own, not a lambda, because it travels to the key's owner
     * through the cache marshaller, whose allow-list names it.
     */
    @ProtoName("WindowCount")
    public record Count(@ProtoField(number = 1) int limit, @ProtoField(number = 2) long windowMillis,
            @ProtoField(number = 3) long now) implements BiFunction<Object, Object, Object>, Serializable {

        @Override
        public Object apply(Object stored, Object first) {
            long slot = now / windowMillis;
            Counts counts = ((Counts) stored).in(slot);
            // in the slot the counts are in: a later one if the writer's clock was ahead
            long elapsed = counts.slot() > slot ? 0 : now - slot * windowMillis;
            long wait = waitMillis(limit, windowMillis, counts.previous(), counts.current(), elapsed);
            return wait == 0 ? new Counts(counts.slot(), counts.previous(), counts.current() + 1, 0)
                    : new Counts(counts.slot(), counts.previous(), counts.current(), wait);
        }
    }
}
