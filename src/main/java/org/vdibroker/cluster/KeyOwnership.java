package org.vdibroker.cluster;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.infinispan.Cache;
import org.infinispan.distribution.DistributionManager;
import org.infinispan.distribution.LocalizedCacheTopology;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.remoting.transport.Address;

/**
 * Decides which node does the background work for a key (a pool's id): the first of the key's owners that is not
 * draining. The work spreads over nodes and moves by itself when nodes join, leave or drain.
 */
@ApplicationScoped
public class KeyOwnership {

    private static final String DRAINING = "draining:";

    @Inject
    EmbeddedCacheManager manager;

    /** Whether this node should do the background work for {@code key}. */
    public boolean isPrimaryOwner(String key) {
        return isPrimaryOwner(manager.getCache(CacheNames.DESKTOPS), key);
    }

    /**
     * Whether this node should do the work for an entry of {@code cache}, judged by that cache's own distribution:
     * the node chosen holds the entry (as primary or backup), so it finds the entry in its own data.
     */
    public boolean isPrimaryOwner(Cache<?, ?> cache, Object key) {
        return primaryOwnerTest(cache).test(key);
    }

    /** {@link #isPrimaryOwner(Cache, Object)} for many keys at once: which nodes drain is read once, not per key. */
    public Predicate<Object> primaryOwnerTest(Cache<?, ?> cache) {
        DistributionManager distribution = cache.getAdvancedCache().getDistributionManager();
        if (distribution == null) {
            return key -> true; // local or replicated cache: this node does everything
        }
        LocalizedCacheTopology topology = distribution.getCacheTopology();
        Address self = manager.getAddress();
        Map<Address, Boolean> draining = new HashMap<>();
        return key -> {
            List<Address> owners = topology.getDistribution(key).writeOwners();
            for (Address owner : owners) {
                if (!draining.computeIfAbsent(owner, this::isDraining)) {
                    return owner.equals(self);
                }
            }
            // every owner drains: the primary keeps the work rather than nobody doing it
            return !owners.isEmpty() && owners.get(0).equals(self);
        };
    }

    /** Announces to the cluster that this node drains, so the other owners of its keys take its work over. */
    public void drainSelf() {
        if (manager.getAddress() != null) {
            counters().put(DRAINING + manager.getAddress(), 1L);
        }
    }

    /** Whether {@code node} announced that it drains (it takes no new work). */
    public boolean isDraining(Address node) {
        return counters().containsKey(DRAINING + node);
    }

    private Cache<String, Long> counters() {
        return manager.getCache(CacheNames.COUNTERS);
    }
}
