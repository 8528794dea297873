package org.vdibroker.cluster;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;

/**
 * Cluster-wide monotonic counters built on conditional writes, e.g. the ticket numbers that order a pool's queue.
 */
@ApplicationScoped
public class Counters {

    @Inject
    EmbeddedCacheManager manager;

    private Cache<String, Long> cache;

    Cache<String, Long> cache() {
        if (cache == null) {
            cache = manager.getCache(CacheNames.COUNTERS);
        }
        return cache;
    }

    /** Returns the next value of the named counter, starting at 1; unique across the cluster. */
    public long next(String name) {
        Cache<String, Long> c = cache();
        while (true) {
            Long current = c.get(name);
            if (current == null) {
                if (c.putIfAbsent(name, 1L) == null) {
                    return 1L;
                }
            } else if (c.replace(name, current, current + 1)) {
                return current + 1;
            }
        }
    }
}
