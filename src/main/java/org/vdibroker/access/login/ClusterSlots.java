package org.vdibroker.access.login;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.infinispan.AdvancedCache;
import org.jboss.logging.Logger;

/**
 * At most {@code limit} slots held per key at once, counted by every node of the cluster together (for instance the
 * event streams one user holds open, wherever the load balancer sent them).
 *
 * <p>Each key is one cache entry {@code name|key} holding the key's slots, each with the end of its lease. A node
 * renews the leases of the slots it holds now and then ({@link #renew}); a slot whose lease ran out no longer counts.
 * So a node that dies with slots taken cannot leak them: nobody renews them, and they count for at most one lease.
 * The entry itself expires two leases after its last write. Cost: one read and one conditional write per take,
 * release or renewal of a key; no walk over other keys.
 *
 * <p>When the cache refuses (a node in a minority partition, a timeout), {@link #tryTake} decides by the slots this
 * node holds for the key: the limit holds per node until the cluster answers again.
 */
public final class ClusterSlots {

    private static final Logger LOG = Logger.getLogger(ClusterSlots.class);
    private static final int MAX_RACES = 8;

    private final AdvancedCache<String, HashMap<String, Long>> slots;
    private final String name;
    private final int limit;
    private final long leaseMillis;
    private final LongSupplier clock;

    public ClusterSlots(AdvancedCache<String, HashMap<String, Long>> slots, String name, int limit, Duration lease) {
        this(slots, name, limit, lease, System::currentTimeMillis);
    }

    ClusterSlots(AdvancedCache<String, HashMap<String, Long>> slots, String name, int limit, Duration lease,
            LongSupplier clock) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1");
        }
        this.slots = slots;
        this.name = name;
        this.limit = limit;
        this.leaseMillis = Math.max(1, lease.toMillis());
        this.clock = clock; // wall clock: every node compares the same lease ends
    }

    /**
     * Takes slot {@code slot} (an id unique in the cluster) for {@code key} if fewer than the limit are held.
     *
     * @param heldHere the key's slots this node holds, for deciding alone when the cache does not answer
     */
    public boolean tryTake(String key, String slot, int heldHere) {
        try {
            for (int race = 0; race < MAX_RACES; race++) {
                HashMap<String, Long> current = slots.get(name + '|' + key);
                HashMap<String, Long> next = live(current);
                if (next.size() >= limit) {
                    return false;
                }
                next.put(slot, clock.getAsLong() + leaseMillis);
                if (write(key, current, next)) {
                    return true;
                }
            }
            return false; // the key is that busy: refuse rather than spin
        } catch (RuntimeException e) { // AvailabilityException, TimeoutException, a stopped cache
            LOG.debugf("Cluster-wide slots %s not reachable, counting on this node: %s", name, e.getMessage());
            return heldHere < limit;
        }
    }

    /**
     * Extends the leases of {@code held}, the slots this node holds for {@code key}; slots the cache lost (its owner
     * died) are added back, since they are still in use.
     */
    public void renew(String key, Collection<String> held) {
        change(key, next -> held.forEach(s -> next.put(s, clock.getAsLong() + leaseMillis)));
    }

    /** Gives slot {@code slot} of {@code key} back. */
    public void release(String key, String slot) {
        change(key, next -> next.remove(slot));
    }

    private void change(String key, java.util.function.Consumer<HashMap<String, Long>> edit) {
        try {
            for (int race = 0; race < MAX_RACES; race++) {
                HashMap<String, Long> current = slots.get(name + '|' + key);
                HashMap<String, Long> next = live(current);
                edit.accept(next);
                if (write(key, current, next)) {
                    return;
                }
            }
        } catch (RuntimeException e) {
            // not fatal: an unrenewed slot lapses by itself, a released one after its lease
            LOG.debugf("Cluster-wide slots %s not reachable: %s", name, e.getMessage());
        }
    }

    /** The slots of {@code current} whose lease has not run out, in a new map. */
    private HashMap<String, Long> live(HashMap<String, Long> current) {
        HashMap<String, Long> next = new HashMap<>();
        if (current != null) {
            long now = clock.getAsLong();
            current.forEach((s, until) -> {
                if (until > now) {
                    next.put(s, until);
                }
            });
        }
        return next;
    }

    /** Writes {@code next} if the entry is still {@code current}; an empty map removes the entry. */
    private boolean write(String key, HashMap<String, Long> current, HashMap<String, Long> next) {
        String k = name + '|' + key;
        if (next.isEmpty()) {
            return current == null || slots.remove(k, current);
        }
        long lifespan = 2 * leaseMillis;
        return current == null
                ? slots.putIfAbsent(k, next, lifespan, TimeUnit.MILLISECONDS) == null
                : slots.replace(k, current, next, lifespan, TimeUnit.MILLISECONDS);
    }
}
