package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.jgroups.JChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Who gets into an encrypted cluster, on the broker's own TCPPING stack (JGroups channels on loopback in this JVM):
 * nodes with the cluster key form their cluster even when a node without the key, and one with another key, are up
 * first and listed among their initial hosts; those two stay alone. With SYM_ENCRYPT under NAKACK2 (before), the
 * first node up answered discovery as the coordinator and the keyed nodes sent it their joins, so they never formed
 * their cluster (a CI run of ClusterIT).
 */
class EncryptedClusterTest {

    private static final SecretKey KEY = new SecretKeySpec(bytes(1), "AES");
    private static final SecretKey OTHER_KEY = new SecretKeySpec(bytes(2), "AES");

    private final List<JChannel> channels = new ArrayList<>();

    @AfterEach
    void close() {
        channels.forEach(JChannel::close);
    }

    @Test
    void nodesWithoutTheKeyOrWithAnotherOneStayOutEvenWhenUpFirst() throws Exception {
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ports.add(ClusterNodes.freeClusterPort(ports, 32000, 36000));
        }
        String hosts = String.join(",", ports.stream().map(p -> "127.0.0.1[" + p + "]").toList());
        String cluster = "encrypted-" + ProcessHandle.current().pid();

        JChannel keyless = channel(ports.get(0), hosts, null);
        keyless.connect(cluster);
        JChannel otherKey = channel(ports.get(1), hosts, OTHER_KEY);
        otherKey.connect(cluster);
        JChannel first = channel(ports.get(2), hosts, KEY);
        JChannel second = channel(ports.get(3), hosts, KEY);
        // connect blocks while joins are retried: a cluster that does not form fails here, not by hanging
        ExecutorService connecting = Executors.newFixedThreadPool(2);
        try {
            CompletableFuture.allOf(connect(first, cluster, connecting), connect(second, cluster, connecting))
                    .get(60, TimeUnit.SECONDS);
        } finally {
            connecting.shutdownNow();
        }

        Instant deadline = Instant.now().plusSeconds(30);
        while (members(first) != 2 || members(second) != 2) {
            assertThat(Instant.now()).as("the keyed nodes to form one cluster: %s, %s", first.getView(),
                    second.getView()).isBefore(deadline);
            Thread.sleep(100);
        }
        // watched over several MERGE3 rounds (every 1-2 s here), which would merge clusters that can read each other
        for (int round = 0; round < 5; round++) {
            assertThat(first.getView().getMembers()).containsExactlyInAnyOrder(first.getAddress(),
                    second.getAddress());
            assertThat(second.getView().getViewId()).isEqualTo(first.getView().getViewId());
            assertThat(members(keyless)).as("members the keyless node sees").isEqualTo(1);
            assertThat(members(otherKey)).as("members the node with another key sees").isEqualTo(1);
            Thread.sleep(1000);
        }
    }

    private JChannel channel(int port, String hosts, SecretKey key) throws Exception {
        Properties properties = new Properties();
        properties.setProperty("vdi.cluster.bind-address", "127.0.0.1");
        properties.setProperty("vdi.cluster.bind-port", Integer.toString(port));
        properties.setProperty("vdi.cluster.initial-hosts", hosts);
        properties.setProperty("vdi.cluster.merge-min-interval", "1s");
        properties.setProperty("vdi.cluster.merge-max-interval", "2s");
        JChannel channel = key == null ? TcppingStack.configurator(properties).createChannel("keyless")
                : new EncryptedChannelConfigurator(TcppingStack.configurator(properties), key).createChannel("keyed");
        channel.setName("node-" + port);
        channels.add(channel);
        return channel;
    }

    private static CompletableFuture<Void> connect(JChannel channel, String cluster, ExecutorService executor) {
        return CompletableFuture.runAsync(() -> {
            try {
                channel.connect(cluster);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, executor);
    }

    private static int members(JChannel channel) {
        return channel.getView() == null ? 0 : channel.getView().size();
    }

    private static byte[] bytes(int fill) {
        byte[] key = new byte[32];
        java.util.Arrays.fill(key, (byte) fill);
        return key;
    }
}
