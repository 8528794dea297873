package org.vdibroker.cluster;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.infinispan.Cache;
import org.infinispan.distribution.DistributionManager;
import org.infinispan.manager.EmbeddedCacheManager;

/**
 * Tells whether this node is the primary owner of a key. Background work for a pool runs on the primary owner of
 * the pool's id, so it spreads over nodes and moves by itself when nodes join or leave.
 */
@ApplicationScoped
public class KeyOwnership {

    @Inject
    EmbeddedCacheManager manager;

    public boolean isPrimaryOwner(String key) {
        Cache<Object, Object> desktops = manager.getCache(CacheNames.DESKTOPS);
        DistributionManager distribution = desktops.getAdvancedCache().getDistributionManager();
        if (distribution == null) {
            return true; // local or replicated cache: this node does everything
        }
        return distribution.getCacheTopology().getDistribution(key).isPrimary();
    }

    public boolean isClustered() {
        return manager.getCacheManagerConfiguration().isClustered();
    }

    public int members() {
        return manager.getMembers() == null ? 1 : manager.getMembers().size();
    }
}
