package org.vdibroker.access.login;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.infinispan.AdvancedCache;
import org.infinispan.configuration.parsing.ConfigurationBuilderHolder;
import org.infinispan.configuration.parsing.ParserRegistry;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.ClusterNodes;

/**
 * Two cache managers in this JVM, clustered over JGroups on loopback with the broker's own infinispan-cluster.xml
 * and jgroups-tcpping.xml (unencrypted: the key is not what is tested), each with its own limiter, as two broker
 * nodes have: the sign-in limit holds across both.
 */
class ClusterWindowLimiterClusterTest {

    private static final List<String> PROPERTIES = List.of("vdi.cluster.name", "vdi.cluster.bind-port",
            "vdi.cluster.initial-hosts", "vdi.cluster.node-name");
    private static final List<DefaultCacheManager> NODES = new ArrayList<>();

    @BeforeAll
    static void startTwoNodes() throws Exception {
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ports.add(ClusterNodes.freeClusterPort(ports, 26000, 31000));
        }
        String hosts = "127.0.0.1[" + ports.get(0) + "],127.0.0.1[" + ports.get(1) + "]";
        Map<String, String> saved = new java.util.HashMap<>();
        PROPERTIES.forEach(p -> saved.put(p, System.getProperty(p)));
        try {
            for (int i = 0; i < 2; i++) {
                // JGroups reads these when the node's channel is made, so each node gets its own port
                System.setProperty("vdi.cluster.name", "limiter-test-" + ProcessHandle.current().pid());
                System.setProperty("vdi.cluster.bind-port", String.valueOf(ports.get(i)));
                System.setProperty("vdi.cluster.initial-hosts", hosts);
                System.setProperty("vdi.cluster.node-name", "limiter-" + i);
                ConfigurationBuilderHolder holder = new ParserRegistry().parseFile("infinispan-cluster.xml");
                DefaultCacheManager node = new DefaultCacheManager(holder, true);
                NODES.add(node);
                node.getCache(CacheNames.LOGIN_LIMITS); // joins the cache's topology
            }
        } finally {
            saved.forEach((p, v) -> {
                if (v == null) {
                    System.clearProperty(p);
                } else {
                    System.setProperty(p, v);
                }
            });
        }
        Instant deadline = Instant.now().plusSeconds(60);
        while (NODES.stream().anyMatch(n -> n.getMembers().size() < 2)
                || NODES.stream().anyMatch(n -> cache(n).getDistributionManager().getCacheTopology()
                        .getMembers().size() < 2)) {
            assertThat(Instant.now()).as("two nodes joined").isBefore(deadline);
            Thread.sleep(100);
        }
    }

    @AfterAll
    static void stop() {
        NODES.forEach(DefaultCacheManager::stop);
    }

    private static AdvancedCache<String, Long> cache(DefaultCacheManager node) {
        return node.<String, Long>getCache(CacheNames.LOGIN_LIMITS).getAdvancedCache();
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
        String key = "user|" + System.currentTimeMillis() / window.toMillis() + "|alice";
        assertThat(cache(NODES.get(0)).getDistributionManager().getCacheTopology().getDistribution(key).writeOwners())
                .hasSize(1);
    }
}
