package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.infinispan.configuration.parsing.ConfigurationBuilderHolder;
import org.infinispan.configuration.parsing.ParserRegistry;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.topology.CacheTopology;

/**
 * Cache managers in this JVM, clustered over JGroups on loopback with the broker's own infinispan-cluster.xml and
 * jgroups-tcpping.xml (unencrypted: the key is not what such tests test), as the nodes of a broker cluster have.
 */
public final class EmbeddedCacheNodes {

    private static final List<String> PROPERTIES = List.of("vdi.cluster.name", "vdi.cluster.bind-port",
            "vdi.cluster.initial-hosts", "vdi.cluster.node-name");

    /** Each node's JGroups port, for the initial hosts of a node that joins later. */
    private static final Map<DefaultCacheManager, Integer> PORTS = java.util.Collections.synchronizedMap(
            new java.util.WeakHashMap<>());

    private EmbeddedCacheNodes() {
    }

    /** {@code count} nodes that have all joined each of {@code caches}. */
    public static List<DefaultCacheManager> start(String name, int count, String... caches)
            throws java.io.IOException, InterruptedException {
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ports.add(ClusterNodes.freeClusterPort(ports, 26000, 31000));
        }
        String hosts = initialHosts(ports);
        List<DefaultCacheManager> nodes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            nodes.add(node(name, i, ports.get(i), hosts, caches));
        }
        awaitJoined(nodes, caches);
        return nodes;
    }

    /**
     * One more node, started while {@code running} (started by {@link #start}) go on: returned once it has joined each
     * of {@code caches} (its initial state received); the rebalance that follows may still run.
     */
    public static DefaultCacheManager join(String name, List<DefaultCacheManager> running, String... caches)
            throws java.io.IOException {
        List<Integer> ports = new ArrayList<>(running.stream().map(PORTS::get).toList());
        int port = ClusterNodes.freeClusterPort(ports, 26000, 31000);
        ports.add(port);
        return node(name, running.size(), port, initialHosts(ports), caches);
    }

    /** JGroups TCPPING's initial hosts: every node's port on loopback. */
    private static String initialHosts(List<Integer> ports) {
        return String.join(",", ports.stream().map(p -> "127.0.0.1[" + p + "]").toList());
    }

    private static DefaultCacheManager node(String name, int index, int port, String hosts, String... caches)
            throws java.io.IOException {
        Map<String, String> saved = new HashMap<>();
        PROPERTIES.forEach(p -> saved.put(p, System.getProperty(p)));
        try {
            // JGroups reads these when the node's channel is made, so each node gets its own port
            System.setProperty("vdi.cluster.name", name + "-" + ProcessHandle.current().pid());
            System.setProperty("vdi.cluster.bind-port", String.valueOf(port));
            System.setProperty("vdi.cluster.initial-hosts", hosts);
            System.setProperty("vdi.cluster.node-name", name + "-" + index);
            ConfigurationBuilderHolder holder = new ParserRegistry().parseFile("infinispan-cluster.xml");
            DefaultCacheManager node = new DefaultCacheManager(holder, true);
            PORTS.put(node, port);
            for (String cache : caches) {
                node.getCache(cache); // joins the cache's topology
            }
            return node;
        } finally {
            saved.forEach((p, v) -> {
                if (v == null) {
                    System.clearProperty(p);
                } else {
                    System.setProperty(p, v);
                }
            });
        }
    }

    private static void awaitJoined(List<DefaultCacheManager> nodes, String... caches) throws InterruptedException {
        Instant deadline = Instant.now().plusSeconds(60);
        while (!joined(nodes, nodes.size(), caches)) {
            assertThat(Instant.now()).as(nodes.size() + " nodes joined").isBefore(deadline);
            Thread.sleep(100);
        }
    }

    /**
     * Every node is a member of each cache and the cache's rebalance has ended on all of them (one topology id, no
     * pending consistent hash): before that a key's primary owner can still move, and tests of ownership flake.
     */
    private static boolean joined(List<DefaultCacheManager> nodes, int count, String... caches) {
        for (DefaultCacheManager node : nodes) {
            if (node.getMembers().size() < count) {
                return false;
            }
        }
        for (String cache : caches) {
            Set<Integer> topologyIds = new HashSet<>();
            for (DefaultCacheManager node : nodes) {
                CacheTopology topology = node.getCache(cache).getAdvancedCache().getDistributionManager()
                        .getCacheTopology();
                if (topology.getPhase() != CacheTopology.Phase.NO_REBALANCE || topology.getPendingCH() != null
                        || topology.getCurrentCH().getMembers().size() < count) {
                    return false;
                }
                topologyIds.add(topology.getTopologyId());
            }
            if (topologyIds.size() != 1) {
                return false;
            }
        }
        return true;
    }
}
