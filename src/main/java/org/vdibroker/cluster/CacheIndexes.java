package org.vdibroker.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.infinispan.Cache;
import org.jboss.logging.Logger;

/**
 * The node-local indexes and followers of one cache, fed by a single cache listener. Each clustered listener costs
 * on every write: the key's primary owner sends every listening node one event per listener, each carrying the
 * marshalled value. A session write used to send seven events to every node (one per index) and a desktop write six;
 * grouped here, it is one per node. Declare the indexes, then {@link #start()}.
 */
public final class CacheIndexes<V> {

    private static final Logger LOG = Logger.getLogger(CacheIndexes.class);

    private final Cache<String, V> cache;
    private final List<BiConsumer<String, V>> followers = new ArrayList<>();
    private volatile boolean started;

    private CacheIndexes(Cache<String, V> cache) {
        this.cache = cache;
    }

    public static <V> CacheIndexes<V> of(Cache<String, V> cache) {
        return new CacheIndexes<>(cache);
    }

    /** An index by {@code indexKeyOf} (null: not in the index), as {@link CacheIndex#attach(Cache, Function)}. */
    public CacheIndex<V> index(Function<V, String> indexKeyOf) {
        return index(indexKeyOf, null);
    }

    /** An index that also counts by {@code orderOf}, as {@link CacheIndex#attach(Cache, Function, ToLongFunction)}. */
    public CacheIndex<V> index(Function<V, String> indexKeyOf, ToLongFunction<V> orderOf) {
        CacheIndex<V> index = new CacheIndex<>(indexKeyOf, orderOf);
        follow(index::update);
        return index;
    }

    /** Calls {@code onChange} with every entry once started and with each later change (null: the entry is gone). */
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
        List<BiConsumer<String, V>> all = List.copyOf(followers);
        CacheIndex.follow(cache, (key, value) -> {
            for (BiConsumer<String, V> follower : all) {
                try {
                    follower.accept(key, value);
                } catch (RuntimeException e) {
                    // the others still see the change: one broken index must not stale the rest
                    LOG.errorf(e, "Index of cache %s did not take the change of %s", cache.getName(), key);
                }
            }
        });
    }
}
