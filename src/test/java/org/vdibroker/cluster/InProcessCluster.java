package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.infinispan.configuration.parsing.ConfigurationBuilderHolder;
import org.infinispan.configuration.parsing.ParserRegistry;
import org.infinispan.manager.DefaultCacheManager;

/**
 * Cache managers in this JVM clustered over JGroups on loopback with the broker's own infinispan-cluster.xml and
 * jgroups-tcpping.xml (unencrypted: tests that use it are not about the key), as broker nodes are: for tests of a
 * clustered cache operation that do not need whole broker JVMs.
 */
public final class InProcessCluster implements AutoCloseable {

    private static final List<String> PROPERTIES = List.of("vdi.cluster.name", "vdi.cluster.bind-port",
            "vdi.cluster.initial-hosts", "vdi.cluster.node-name");

    private final List<DefaultCacheManager> nodes = new ArrayList<>();

    private InProcessCluster() {
    }

    /** Starts {@code size} members and waits until each of {@code caches} has all of them in its topology. */
    public static InProcessCluster start(int size, String name, String... caches) throws InterruptedException {
        InProcessCluster cluster = new InProcessCluster();
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            ports.add(ClusterNodes.freeClusterPort(ports, 26000, 31000));
        }
        String hosts = String.join(",", ports.stream().map(p -> "127.0.0.1[" + p + "]").toList());
        Map<String, String> saved = new HashMap<>();
        PROPERTIES.forEach(p -> saved.put(p, System.getProperty(p)));
        try {
            for (int i = 0; i < size; i++) {
                // JGroups reads these when the node's channel is made, so each node gets its own port
                System.setProperty("vdi.cluster.name", name + "-" + ProcessHandle.current().pid());
                System.setProperty("vdi.cluster.bind-port", String.valueOf(ports.get(i)));
                System.setProperty("vdi.cluster.initial-hosts", hosts);
                System.setProperty("vdi.cluster.node-name", name + "-" + i);
                ConfigurationBuilderHolder holder = new ParserRegistry().parseFile("infinispan-cluster.xml");
                DefaultCacheManager node = new DefaultCacheManager(holder, true);
                cluster.nodes.add(node);
                for (String cache : caches) {
                    node.getCache(cache); // joins the cache's topology
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            cluster.close();
            throw new IllegalStateException("could not start the in-process cluster", e);
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
        while (!cluster.formed(size, caches)) {
            assertThat(Instant.now()).as("%d nodes joined", size).isBefore(deadline);
            Thread.sleep(100);
        }
        return cluster;
    }

    private boolean formed(int size, String... caches) {
        for (DefaultCacheManager node : nodes) {
            if (node.getMembers() == null || node.getMembers().size() < size) {
                return false;
            }
            for (String cache : caches) {
                if (node.getCache(cache).getAdvancedCache().getDistributionManager().getCacheTopology().getMembers()
                        .size() < size) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The members, in start order. */
    public List<DefaultCacheManager> nodes() {
        return nodes;
    }

    @Override
    public void close() {
        nodes.forEach(DefaultCacheManager::stop);
    }
}
