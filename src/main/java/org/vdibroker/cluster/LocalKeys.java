package org.vdibroker.cluster;

import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.infinispan.Cache;
import org.infinispan.distribution.DistributionManager;
import org.infinispan.distribution.LocalizedCacheTopology;

/**
 * Keys whose primary copy is on this node. A write to such a key costs one synchronous copy to its backup owner; a
 * write to a key another node owns goes there first and is copied from there, two round trips one after the other.
 * Where the broker picks a key itself (a new session's id, an audit entry's, a connection ticket) or may pick among
 * equal entries (the ready desktops of a pool), it prefers these. Only a preference: a key owned elsewhere is just as
 * correct.
 */
public final class LocalKeys {

    /** Enough tries to find a local key on clusters of a dozen nodes almost always; after them any key will do. */
    private static final int TRIES = 32;

    private LocalKeys() {
    }

    /** Whether this node holds the primary copy of {@code key} in {@code cache} (always, for a local cache). */
    public static Predicate<Object> primaryHere(Cache<?, ?> cache) {
        DistributionManager distribution = cache.getAdvancedCache().getDistributionManager();
        if (distribution == null) {
            return key -> true;
        }
        LocalizedCacheTopology topology = distribution.getCacheTopology();
        return key -> topology.getDistribution(key).isPrimary();
    }

    /** A fresh key from {@code generator} whose primary copy is on this node, if one comes within a few tries. */
    public static String fresh(Cache<?, ?> cache, Supplier<String> generator) {
        return fresh(cache, generator, Function.identity());
    }

    /**
     * A fresh value from {@code generator} whose key ({@code keyOf} the value, e.g. a secret's hash) has its primary
     * copy on this node, if one comes within a few tries.
     */
    public static <T> T fresh(Cache<?, ?> cache, Supplier<T> generator, Function<? super T, ?> keyOf) {
        Predicate<Object> here = primaryHere(cache);
        T value = generator.get();
        for (int i = 1; i < TRIES && !here.test(keyOf.apply(value)); i++) {
            value = generator.get();
        }
        return value;
    }
}
