package org.vdibroker.cluster;

import java.util.Collections;
import java.util.Comparator;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.infinispan.Cache;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryCreated;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryExpired;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryModified;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryRemoved;
import org.infinispan.notifications.cachelistener.event.CacheEntryCreatedEvent;
import org.infinispan.notifications.cachelistener.event.CacheEntryEvent;
import org.infinispan.notifications.cachelistener.event.CacheEntryExpiredEvent;
import org.infinispan.notifications.cachelistener.event.CacheEntryModifiedEvent;
import org.infinispan.notifications.cachelistener.event.CacheEntryRemovedEvent;
import org.infinispan.notifications.cachelistener.event.Event;

/**
 * A node-local secondary index over a shared cache (e.g. ready desktops by pool), kept current by a cache listener
 * through {@link CacheIndexes}, which applies the events in the order of the entries' versions. The events arrive
 * after the writes, so the index can lag for a moment: it finds candidates fast, and every decision is still made
 * by a conditional write on the entry itself.
 *
 * <p>An index with an order ({@code orderOf}) also walks the entries of an index key in that order, reading only as
 * far as the caller goes (the head of a queue), and, when counted, says in O(log n) how many lie below a value.
 */
public final class CacheIndex<V> {

    private final Function<V, String> indexKeyOf;
    private final ToLongFunction<V> orderOf;
    private final boolean counted;
    private final Map<String, IndexKeys> byIndexKey = new ConcurrentHashMap<>();
    private final Map<String, String> indexKeyByEntry = new ConcurrentHashMap<>();
    private final Map<String, OrderedCounts> countsByIndexKey = new ConcurrentHashMap<>();
    private final Map<String, NavigableSet<Placed>> sortedByIndexKey = new ConcurrentHashMap<>();
    private final Map<String, Placed> placedByEntry = new ConcurrentHashMap<>();

    /** Where an entry stands in an ordered index: its index key, its order, and the entry key (the tie-breaker). */
    private record Placed(String indexKey, long order, String entryKey) implements Comparable<Placed> {
        private static final Comparator<Placed> ORDER = Comparator.comparingLong(Placed::order)
                .thenComparing(Placed::entryKey);

        @Override
        public int compareTo(Placed other) {
            return ORDER.compare(this, other);
        }
    }

    CacheIndex(Function<V, String> indexKeyOf, ToLongFunction<V> orderOf, boolean counted) {
        this.indexKeyOf = indexKeyOf;
        this.orderOf = orderOf;
        this.counted = counted;
    }

    /** One change of an entry: its new value, or null when it is gone and then {@code removed}, its last value. */
    @FunctionalInterface
    interface Change<V> {
        void changed(String key, V value, V removed);
    }

    /**
     * Calls {@code onChange} with every entry of {@code cache} now and with each later change, also those made on
     * other nodes when the cache is clustered. Neither order nor timing is promised (see {@link CacheIndexes}).
     */
    @SuppressWarnings("unchecked")
    static <V> void follow(Cache<String, V> cache, Change<V> onChange) {
        CacheMode mode = cache.getCacheConfiguration().clustering().cacheMode();
        Change<Object> handler = (Change<Object>) (Change<?>) onChange;
        cache.addListener(mode.isClustered() ? new ClusteredListener(handler) : new LocalListener(handler));
        cache.forEach((key, value) -> onChange.changed(key, value, null));
    }

    /** The entry keys under {@code indexKey}; iterating walks a snapshot. */
    public Set<String> get(String indexKey) {
        Set<String> keys = byIndexKey.get(indexKey);
        return keys == null ? Set.of() : Collections.unmodifiableSet(keys);
    }

    /** One entry key under {@code indexKey}, picked at random in O(1); null when there is none. */
    public String any(String indexKey) {
        IndexKeys keys = byIndexKey.get(indexKey);
        return keys == null ? null : keys.any(ThreadLocalRandom.current());
    }

    public int size(String indexKey) {
        Set<String> keys = byIndexKey.get(indexKey);
        return keys == null ? 0 : keys.size();
    }

    /** How many entries under {@code indexKey} have an order below {@code order}; 0 unless counted. */
    public int countBelow(String indexKey, long order) {
        OrderedCounts counts = countsByIndexKey.get(indexKey);
        return counts == null ? 0 : counts.countBelow(order);
    }

    /**
     * The entry keys under {@code indexKey} in ascending order (equal orders by entry key), found one at a time as
     * the caller walks: taking the first k costs O(k log n), not a copy of them all. Weakly consistent: the walk sees
     * changes made while it goes, or not. Empty without {@code orderOf}.
     */
    public Iterable<String> inOrder(String indexKey) {
        return () -> sorted(indexKey).stream().map(Placed::entryKey).iterator();
    }

    /** {@link #inOrder} up to (not including) {@code order}. */
    public Iterable<String> inOrderBelow(String indexKey, long order) {
        return () -> sorted(indexKey).headSet(new Placed(indexKey, order, "")).stream().map(Placed::entryKey)
                .iterator();
    }

    private NavigableSet<Placed> sorted(String indexKey) {
        NavigableSet<Placed> sorted = sortedByIndexKey.get(indexKey);
        return sorted == null ? Collections.emptyNavigableSet() : sorted;
    }

    void update(String entryKey, V value) {
        String newIndexKey = value == null ? null : indexKeyOf.apply(value);
        String oldIndexKey = newIndexKey == null ? indexKeyByEntry.remove(entryKey)
                : indexKeyByEntry.put(entryKey, newIndexKey);
        if (oldIndexKey != null && !oldIndexKey.equals(newIndexKey)) {
            IndexKeys old = byIndexKey.get(oldIndexKey);
            if (old != null) {
                old.remove(entryKey);
            }
        }
        if (newIndexKey != null) {
            byIndexKey.computeIfAbsent(newIndexKey, k -> new IndexKeys()).add(entryKey);
        }
        if (orderOf != null) {
            updateOrder(entryKey, newIndexKey == null ? null
                    : new Placed(newIndexKey, orderOf.applyAsLong(value), entryKey));
        }
    }

    /** Moves the entry to its new place in the order (null: out of the index); one call at a time per entry. */
    private void updateOrder(String entryKey, Placed now) {
        Placed old = now == null ? placedByEntry.remove(entryKey) : placedByEntry.put(entryKey, now);
        if (old != null && !old.equals(now)) {
            sorted(old.indexKey()).remove(old);
            OrderedCounts counts = countsByIndexKey.get(old.indexKey());
            if (counts != null) {
                counts.remove(old.order());
            }
        }
        if (now != null) {
            sortedByIndexKey.computeIfAbsent(now.indexKey(), k -> new ConcurrentSkipListSet<>()).add(now);
            if (counted) {
                countsByIndexKey.computeIfAbsent(now.indexKey(), k -> new OrderedCounts()).add(now.order());
            }
        }
    }

    static void onEvent(CacheEntryEvent<?, ?> event, Change<Object> handler) {
        if (event.isPre()) {
            return;
        }
        // one event class implements every event interface, so ask for the type rather than instanceof
        if (event.getType() == Event.Type.CACHE_ENTRY_REMOVED) {
            handler.changed((String) event.getKey(), null, ((CacheEntryRemovedEvent<?, ?>) event).getOldValue());
        } else if (event.getType() == Event.Type.CACHE_ENTRY_EXPIRED) {
            handler.changed((String) event.getKey(), null, event.getValue());
        } else {
            handler.changed((String) event.getKey(), event.getValue(), null);
        }
    }

    /**
     * Receives the cache's events for one index. Listener classes are public and static so Infinispan can invoke
     * them; the two subclasses differ only in their {@code @Listener} annotation.
     */
    public abstract static class IndexListener {
        private final Change<Object> handler;

        IndexListener(Change<Object> handler) {
            this.handler = handler;
        }

        @CacheEntryCreated
        public void created(CacheEntryCreatedEvent<?, ?> event) {
            onEvent(event, handler);
        }

        @CacheEntryModified
        public void modified(CacheEntryModifiedEvent<?, ?> event) {
            onEvent(event, handler);
        }

        @CacheEntryRemoved
        public void removed(CacheEntryRemovedEvent<?, ?> event) {
            onEvent(event, handler);
        }

        @CacheEntryExpired
        public void expired(CacheEntryExpiredEvent<?, ?> event) {
            onEvent(event, handler);
        }
    }

    /** For local caches: sees every change. */
    @Listener(observation = Listener.Observation.POST)
    public static class LocalListener extends IndexListener {
        LocalListener(Change<Object> handler) {
            super(handler);
        }
    }

    /**
     * For distributed caches: a clustered listener sees changes of entries owned by any node. Asynchronous, so a
     * slow or paused node never holds up writes elsewhere; {@link CacheIndexes} puts its events in order.
     */
    @Listener(clustered = true, sync = false, observation = Listener.Observation.POST)
    public static class ClusteredListener extends IndexListener {
        ClusteredListener(Change<Object> handler) {
            super(handler);
        }
    }
}
