package org.vdibroker.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;
import org.infinispan.Cache;
import org.jboss.logging.Logger;

/**
 * The node-local indexes and followers of one cache, fed by a single cache listener. Each clustered listener costs
 * on every write: the key's primary owner sends every listening node one event per listener, each carrying the
 * marshalled value. A session write used to send seven events to every node (one per index) and a desktop write six;
 * grouped here, it is one per node. Declare the indexes, then {@link #start()}.
 *
 * <p>The listener is asynchronous, and Infinispan does not deliver an asynchronous listener's events in the order of
 * the writes, not even for one key (measured: {@code CacheIndexJoinTest}); nor is the first read of the entries
 * ordered against the events that cross it. Applied as they came, a late event put an entry back into the index of
 * a state it had left, for good if no later write came: a session that had a queue ticket stayed "arriving" in the
 * pool manager's view and was never served. So every value carries a version that grows with each write of its entry
 * (the entries are written by conditional replace of the value they derive from, so versions of one key never
 * repeat), and an event older than what the indexes hold is dropped. A removal leaves its version behind for
 * {@link #REMOVED_KEPT}, so an event of the removed entry that arrives after its removal is dropped too.
 */
public final class CacheIndexes<V> {

    private static final Logger LOG = Logger.getLogger(CacheIndexes.class);

    /**
     * How long the version of a removed entry is kept: far longer than an event is ever late (seconds, a paused node's
     * queue included). An entry created again under the same key within it needs a version above the removed one.
     */
    static final Duration REMOVED_KEPT = Duration.ofMinutes(2);

    private final Cache<String, V> cache;
    private final ToLongFunction<V> versionOf;
    private final List<BiConsumer<String, V>> followers = new ArrayList<>();
    /** The version of each entry the followers were last given; of removed entries for a while (see above). */
    private final Map<String, Seen> seen = new ConcurrentHashMap<>();
    private final Queue<Removal> removals = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean forgetting = new AtomicBoolean();
    /** Nanoseconds for the age of removals (a test moves it). */
    LongSupplier nanoTime = System::nanoTime;
    private volatile boolean started;

    /** An entry's version as applied; {@code removedAt} (System.nanoTime) is set once the entry is gone. */
    private record Seen(long version, long removedAt, boolean removed) {
    }

    private record Removal(String key, long at) {
    }

    private CacheIndexes(Cache<String, V> cache, ToLongFunction<V> versionOf) {
        this.cache = cache;
        this.versionOf = versionOf;
    }

    /** Indexes of {@code cache}, whose values' {@code versionOf} grows with every write of an entry. */
    public static <V> CacheIndexes<V> of(Cache<String, V> cache, ToLongFunction<V> versionOf) {
        return new CacheIndexes<>(cache, versionOf);
    }

    /** An index by {@code indexKeyOf} (null: not in the index). */
    public CacheIndex<V> index(Function<V, String> indexKeyOf) {
        return add(new CacheIndex<>(indexKeyOf, null, false));
    }

    /**
     * An index that also counts the entries of each index key by {@code orderOf}, so {@link CacheIndex#countBelow}
     * answers in O(log n), and walks them in that order ({@link CacheIndex#inOrder}). The counts suit dense values
     * that no two entries of an index key share, such as queue tickets.
     */
    public CacheIndex<V> index(Function<V, String> indexKeyOf, ToLongFunction<V> orderOf) {
        return add(new CacheIndex<>(indexKeyOf, orderOf, true));
    }

    /**
     * An index that walks the entries of each index key in the order of {@code orderOf} ({@link CacheIndex#inOrder}),
     * which may change with every write of an entry and be sparse, such as a time in milliseconds; not counted.
     */
    public CacheIndex<V> ordered(Function<V, String> indexKeyOf, ToLongFunction<V> orderOf) {
        return add(new CacheIndex<>(indexKeyOf, orderOf, false));
    }

    private CacheIndex<V> add(CacheIndex<V> index) {
        follow(index::update);
        return index;
    }

    /**
     * Calls {@code onChange} with every entry once started and with each later change (null: the entry is gone), in
     * the order of the entry's versions; one call at a time per entry.
     */
    public synchronized void follow(BiConsumer<String, V> onChange) {
        if (started) {
            throw new IllegalStateException("indexes of cache " + cache.getName() + " already started");
        }
        followers.add(onChange);
    }

    /** Registers the one listener and feeds every index the cache's current entries. */
    public synchronized void start() {
        if (started) {
            return;
        }
        started = true;
        CacheIndex.follow(cache, this::changed);
    }

    /**
     * One event, or one entry of the first read: {@code value} is the new value, or null when the entry is gone, and
     * then {@code removed} is the value it had (null if the event did not say).
     */
    void changed(String key, V value, V removed) {
        long now = nanoTime.getAsLong();
        long version = value != null ? versionOf.applyAsLong(value)
                : removed != null ? versionOf.applyAsLong(removed) : Long.MAX_VALUE;
        Seen applied = seen.compute(key, (k, last) -> {
            if (last != null && (version < last.version() || version == last.version() && last.removed())) {
                return last; // a late event: the indexes hold a newer state of the entry, or know it is gone
            }
            for (BiConsumer<String, V> follower : followers) {
                try {
                    follower.accept(key, value);
                } catch (RuntimeException e) {
                    // the others still see the change: one broken index must not stale the rest
                    LOG.errorf(e, "Index of cache %s did not take the change of %s", cache.getName(), key);
                }
            }
            return value != null ? new Seen(version, 0, false) : new Seen(version, now, true);
        });
        if (value == null && applied.removedAt() == now) {
            removals.add(new Removal(key, now));
        }
        forgetOldRemovals(now);
    }

    /** Drops the versions of entries removed more than {@link #REMOVED_KEPT} ago; one thread at a time. */
    private void forgetOldRemovals(long now) {
        if (!forgetting.compareAndSet(false, true)) {
            return;
        }
        try {
            long kept = REMOVED_KEPT.toNanos();
            for (Removal r = removals.peek(); r != null && now - r.at() > kept; r = removals.peek()) {
                removals.poll();
                long at = r.at();
                seen.computeIfPresent(r.key(), (k, s) -> s.removed() && s.removedAt() == at ? null : s);
            }
        } finally {
            forgetting.set(false);
        }
    }
}
