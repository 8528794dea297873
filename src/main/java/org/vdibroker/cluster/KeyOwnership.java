package org.vdibroker.cluster;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import org.infinispan.Cache;
import org.infinispan.distribution.DistributionManager;
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
        Cache<Object, Object> desktops = manager.getCache(CacheNames.DESKTOPS);
        DistributionManager distribution = desktops.getAdvancedCache().getDistributionManager();
        if (distribution == null) {
            return true; // local or replicated cache: this node does everything
        }
        List<Address> owners = distribution.getCacheTopology().getDistribution(key).writeOwners();
        Address self = manager.getAddress();
        for (Address owner : owners) {
            if (!isDraining(owner)) {
                return owner.equals(self);
            }
        }
        // every owner drains: the primary keeps the work rather than nobody doing it
        return !owners.isEmpty() && owners.get(0).equals(self);
    }

    /** Announces to the cluster that this node drains, so the other owners of its keys take its work over. */
    public void drainSelf() {
        if (manager.getAddress() != null) {
            counters().put(DRAINING + manager.getAddress(), 1L);
        }
    }

    private boolean isDraining(Address node) {
        return counters().containsKey(DRAINING + node);
    }

    private Cache<String, Long> counters() {
        return manager.getCache(CacheNames.COUNTERS);
    }
}
