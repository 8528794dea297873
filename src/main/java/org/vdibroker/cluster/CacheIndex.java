package org.vdibroker.cluster;

import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BiConsumer;
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
 * A node-local secondary index over a shared cache (e.g. ready desktops by pool), kept current by cache listeners.
 * It is only a hint for finding candidates fast: every decision is still made by a conditional write on the entry
 * itself, so a stale index can cost a retry but never break an invariant.
 */
public final class CacheIndex<V> {

    private final Function<V, String> indexKeyOf;
    private final ToLongFunction<V> orderOf;
    private final Map<String, IndexKeys> byIndexKey = new ConcurrentHashMap<>();
    private final Map<String, String> indexKeyByEntry = new ConcurrentHashMap<>();
    private final Map<String, OrderedCounts> orderByIndexKey = new ConcurrentHashMap<>();
    private final Map<String, Long> orderByEntry = new ConcurrentHashMap<>();

    CacheIndex(Function<V, String> indexKeyOf, ToLongFunction<V> orderOf) {
        this.indexKeyOf = indexKeyOf;
        this.orderOf = orderOf;
    }

    /**
     * Indexes {@code cache} by {@code indexKeyOf} (null means "not in the index") and follows its changes, also those
     * made on other nodes when the cache is clustered. A cache with several indexes declares them on one
     * {@link CacheIndexes}, so that they share a listener.
     */
    public static <V> CacheIndex<V> attach(Cache<String, V> cache, Function<V, String> indexKeyOf) {
        return attach(cache, indexKeyOf, null);
    }

    /**
     * Like {@link #attach(Cache, Function)}, and also counts the entries of each index key by {@code orderOf} (a
     * value that never changes for an entry, e.g. a queue ticket), so {@link #countBelow} answers in O(log n).
     */
    public static <V> CacheIndex<V> attach(Cache<String, V> cache, Function<V, String> indexKeyOf,
            ToLongFunction<V> orderOf) {
        CacheIndexes<V> indexes = CacheIndexes.of(cache);
        CacheIndex<V> index = indexes.index(indexKeyOf, orderOf);
        indexes.start();
        return index;
    }

    /**
     * Calls {@code onChange} with every entry of {@code cache} now and with each later change (the new value, or
     * null when the entry is gone), also those made on other nodes when the cache is clustered: for node-local
     * indexes that keep more than sets of keys.
     */
    @SuppressWarnings("unchecked")
    public static <V> void follow(Cache<String, V> cache, BiConsumer<String, V> onChange) {
        CacheMode mode = cache.getCacheConfiguration().clustering().cacheMode();
        BiConsumer<String, Object> handler = (BiConsumer<String, Object>) (BiConsumer<String, ?>) onChange;
        cache.addListener(mode.isClustered() ? new ClusteredListener(handler) : new LocalListener(handler));
        cache.forEach(onChange);
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

    /** How many entries under {@code indexKey} have an order below {@code order}; 0 without {@code orderOf}. */
    public int countBelow(String indexKey, long order) {
        OrderedCounts counts = orderByIndexKey.get(indexKey);
        return counts == null ? 0 : counts.countBelow(order);
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
            updateOrder(entryKey, oldIndexKey, newIndexKey, value);
        }
    }

    private void updateOrder(String entryKey, String oldIndexKey, String newIndexKey, V value) {
        if (oldIndexKey != null && !oldIndexKey.equals(newIndexKey)) {
            Long oldOrder = orderByEntry.remove(entryKey);
            OrderedCounts old = orderByIndexKey.get(oldIndexKey);
            if (old != null && oldOrder != null) {
                old.remove(oldOrder);
            }
        }
        if (newIndexKey != null) {
            long order = orderOf.applyAsLong(value);
            orderByEntry.put(entryKey, order);
            orderByIndexKey.computeIfAbsent(newIndexKey, k -> new OrderedCounts()).add(order);
        }
    }

    static void onEvent(CacheEntryEvent<?, ?> event, BiConsumer<String, Object> handler) {
        if (event.isPre()) {
            return;
        }
        // one event class implements every event interface, so ask for the type rather than instanceof
        boolean gone = event.getType() == Event.Type.CACHE_ENTRY_REMOVED
                || event.getType() == Event.Type.CACHE_ENTRY_EXPIRED;
        handler.accept((String) event.getKey(), gone ? null : event.getValue());
    }

    /**
     * Receives the cache's events for one index. Listener classes are public and static so Infinispan can invoke
     * them; the two subclasses differ only in their {@code @Listener} annotation.
     */
    public abstract static class IndexListener {
        private final BiConsumer<String, Object> handler;

        IndexListener(BiConsumer<String, Object> handler) {
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
        LocalListener(BiConsumer<String, Object> handler) {
            super(handler);
        }
    }

    /**
     * For distributed caches: a clustered listener sees changes of entries owned by any node. Asynchronous, so a
     * slow or paused node never holds up writes elsewhere; the index is only a hint.
     */
    @Listener(clustered = true, sync = false, observation = Listener.Observation.POST)
    public static class ClusteredListener extends IndexListener {
        ClusteredListener(BiConsumer<String, Object> handler) {
            super(handler);
        }
    }
}
