package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.infinispan.Cache;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.ClusterMarshaller.Format;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;

/**
 * The first roll of the move to ProtoStream, in the middle: one node still writing Java serialization (as a node of
 * the version before, or one set to {@code vdi.cluster.marshalling=java}), one writing ProtoStream, in one cluster.
 * Each reads the other's writes, and a conditional replace made on one node against a value the other wrote
 * succeeds: values come back equal whichever way they travelled.
 */
class MixedMarshallingClusterTest {

    @Test
    void nodesWritingEitherFormatShareDesktopsAndReplaceEachOthersValues() throws Exception {
        List<DefaultCacheManager> nodes = new ArrayList<>();
        String before = System.getProperty("vdi.cluster.marshalling");
        try {
            System.setProperty("vdi.cluster.marshalling", "java");
            nodes.addAll(EmbeddedCacheNodes.start("mixed-marshalling", 1, CacheNames.DESKTOPS));
            System.setProperty("vdi.cluster.marshalling", "protostream");
            nodes.add(EmbeddedCacheNodes.join("mixed-marshalling", nodes, CacheNames.DESKTOPS));
            assertThat(format(nodes.get(0))).isEqualTo(Format.JAVA);
            assertThat(format(nodes.get(1))).isEqualTo(Format.PROTOSTREAM);

            Cache<String, DesktopState> java = nodes.get(0).getCache(CacheNames.DESKTOPS);
            Cache<String, DesktopState> proto = nodes.get(1).getCache(CacheNames.DESKTOPS);
            Instant t = Instant.parse("2026-12-07T09:00:00.123456789Z");
            for (int i = 0; i < 40; i++) { // keys owned by either node, or both
                String id = "d-" + i;
                Cache<String, DesktopState> writer = i % 2 == 0 ? java : proto;
                Cache<String, DesktopState> other = i % 2 == 0 ? proto : java;
                DesktopState ready = new DesktopState(id, "pool-a", "hv-1", "pool-a-" + i, "vm-" + i,
                        DesktopStatus.READY, null, null, null, 1, null, 0, t.plusNanos(i), 1);
                writer.put(id, ready);
                DesktopState read = other.get(id);
                assertThat(read).isEqualTo(ready);
                DesktopState assigned = new DesktopState(id, "pool-a", "hv-1", "pool-a-" + i, "vm-" + i,
                        DesktopStatus.ASSIGNED, "s-" + i, null, null, 1, null, 0, t.plusSeconds(1), 2);
                assertThat(other.replace(id, read, assigned)).as(id + " replaced on the other node").isTrue();
                assertThat(writer.get(id)).isEqualTo(assigned);
            }
        } finally {
            if (before == null) {
                System.clearProperty("vdi.cluster.marshalling");
            } else {
                System.setProperty("vdi.cluster.marshalling", before);
            }
            nodes.forEach(DefaultCacheManager::stop);
        }
    }

    private static Format format(DefaultCacheManager node) {
        return ((ClusterMarshaller) node.getCacheManagerConfiguration().serialization().marshaller()).writes();
    }
}
