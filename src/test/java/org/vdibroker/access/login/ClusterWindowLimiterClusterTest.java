package org.vdibroker.access.login;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.infinispan.AdvancedCache;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.EmbeddedCacheNodes;

/**
 * Two cache managers in this JVM, clustered over JGroups on loopback with the broker's own infinispan-cluster.xml
 * and jgroups-tcpping.xml (unencrypted: the key is not what is tested), each with its own limiter, as two broker
 * nodes have: the sign-in limit holds across both.
 */
class ClusterWindowLimiterClusterTest {

    private static final List<DefaultCacheManager> NODES = new ArrayList<>();

    @BeforeAll
    static void startTwoNodes() throws Exception {
        NODES.addAll(EmbeddedCacheNodes.start("limiter-test", 2, CacheNames.LOGIN_LIMITS));
    }

    @AfterAll
    static void stop() {
        NODES.forEach(DefaultCacheManager::stop);
        NODES.clear(); // a rerun of a failed test starts afresh
    }

    private static AdvancedCache<String, Object> cache(DefaultCacheManager node) {
        return node.<String, Object>getCache(CacheNames.LOGIN_LIMITS).getAdvancedCache();
    }

    @Test
    void aClientSpreadOverTwoNodesGetsTheLimitOnce() {
        Duration window = Duration.ofMinutes(1);
        ClusterWindowLimiter first = new ClusterWindowLimiter(cache(NODES.get(0)), "user", 10, window);
        ClusterWindowLimiter second = new ClusterWindowLimiter(cache(NODES.get(1)), "user", 10, window);
        int allowed = 0;
        long slotBefore = System.currentTimeMillis() / window.toMillis();
        for (int i = 0; i < 30; i++) { // as a load balancer sends them: round-robin
            if ((i % 2 == 0 ? first : second).tryAcquire("alice").isZero()) {
                allowed++;
            }
        }
        if (System.currentTimeMillis() / window.toMillis() == slotBefore) { // a new slot would start shrinking
            assertThat(allowed).isEqualTo(10);
        } else {
            assertThat(allowed).isBetween(10, 11);
        }
        assertThat(first.tryAcquire("alice")).isPositive();
        assertThat(second.tryAcquire("alice")).isPositive();
        // one copy: each count lives on one node, and the other reaches it there
        String key = first.key("alice");
        assertThat(cache(NODES.get(0)).getDistributionManager().getCacheTopology().getDistribution(key).writeOwners())
                .hasSize(1);
    }
}
