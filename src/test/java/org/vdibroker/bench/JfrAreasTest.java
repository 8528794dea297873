package org.vdibroker.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.Recording;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JfrAreasTest {

    @Test
    void aSampleCountsToTheInnermostFrameOfAnAreaNotToEveryAreaItsStackPassesThrough() {
        // AES under JGroups' encryption, below Infinispan handling the decrypted command: encryption
        assertThat(JfrAreas.areaOf(List.of("com.sun.crypto.provider.AESCrypt", "org.jgroups.protocols.Encrypt",
                "org.jgroups.protocols.SYM_ENCRYPT", "org.jgroups.protocols.TP")))
                .startsWith("cluster encryption");
        // Infinispan above the same protocol, on the same thread: Infinispan, not encryption
        assertThat(JfrAreas.areaOf(List.of("java.util.HashMap", "org.infinispan.container.impl.DefaultDataContainer",
                "org.infinispan.remoting.inboundhandler.BasePerCacheInboundInvocationHandler",
                "org.jgroups.protocols.SYM_ENCRYPT", "org.jgroups.protocols.TP")))
                .isEqualTo("Infinispan (other)");
        // the JDK's randomness under the broker's UUIDs: broker code; serialization is its own area
        assertThat(JfrAreas.areaOf(List.of("sun.security.provider.NativePRNG", "java.security.SecureRandom",
                "java.util.UUID", "org.vdibroker.session.SessionService"))).isEqualTo("broker code (other)");
        assertThat(JfrAreas.areaOf(List.of("java.io.ObjectOutputStream",
                "org.infinispan.commons.marshall.JavaSerializationMarshaller"))).isEqualTo("Java serialization");
        // a marshaller protostream-processor generated into a broker class is ProtoStream's, the class itself not
        assertThat(JfrAreas.areaOf(List.of("org.infinispan.protostream.impl.TagWriterImpl",
                "org.vdibroker.session.SessionState$___Marshaller_3d4d49"))).isEqualTo("ProtoStream");
        assertThat(JfrAreas.areaOf(List.of("org.vdibroker.session.SessionState$___Marshaller_3d4d49",
                "org.vdibroker.cluster.ClusterMarshaller"))).isEqualTo("ProtoStream");
        assertThat(JfrAreas.areaOf(List.of("org.vdibroker.session.SessionState"))).isEqualTo("broker code (other)");
        // the first matching area wins: the reconciler is the pool manager's, not just broker code
        assertThat(JfrAreas.areaOf(List.of("org.vdibroker.pool.Reconciler"))).isEqualTo("pool manager");
        assertThat(JfrAreas.areaOf(List.of("java.lang.Thread"))).isEqualTo(JfrAreas.JDK_ONLY);
    }

    @Test
    void countsTheCpuAndAllocationSamplesOfARealRecordingWithinItsWindowOnly(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("spin.jfr");
        Instant from;
        Instant until;
        try (Recording recording = new Recording()) {
            recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(10));
            recording.enable("jdk.ObjectAllocationSample").with("throttle", "1000/s");
            recording.start();
            from = Instant.now();
            spin(Duration.ofMillis(1500));
            until = Instant.now();
            recording.stop();
            recording.dump(file);
        }
        // the test JVM's other threads (an earlier test's Quarkus application, say) are sampled too: what is checked
        // is where this thread's loop went. The map runs in the JDK, called from this class: broker code.
        String spin = JfrAreasTest.class.getName() + ".spin";
        Map<String, Map<String, Long>> methods = new HashMap<>();
        Map<String, Long> inWindow = JfrAreas.sum(List.of(file), from, until, JfrAreas.Measure.CPU, methods);
        assertThat(methods.getOrDefault("broker code (other)", Map.of()).getOrDefault(spin, 0L))
                .as("samples by area: %s", inWindow).isGreaterThanOrEqualTo(20);
        assertThat(elsewhere(methods, spin)).as("areas other than broker code holding the loop").isEmpty();
        assertThat(JfrAreas.samples(List.of(file), from.minusSeconds(60), from.minusSeconds(30))).isEmpty();

        // the strings the loop makes, weighed in bytes: also the loop's
        Map<String, Map<String, Long>> allocating = new HashMap<>();
        Map<String, Long> allocated = JfrAreas.sum(List.of(file), from, until, JfrAreas.Measure.ALLOCATION,
                allocating);
        assertThat(allocating.getOrDefault("broker code (other)", Map.of()).getOrDefault(spin, 0L))
                .as("bytes by area: %s", allocated).isGreaterThan(1_000_000);
        assertThat(elsewhere(allocating, spin)).as("areas other than broker code holding the loop").isEmpty();
    }

    private static List<String> elsewhere(Map<String, Map<String, Long>> methods, String method) {
        return methods.entrySet().stream().filter(e -> !e.getKey().equals("broker code (other)"))
                .filter(e -> e.getValue().containsKey(method)).map(Map.Entry::getKey).toList();
    }

    /** JDK code called from this class, in plain Java: no intrinsic, whose stubs JFR's sampler cannot walk. */
    private static void spin(Duration length) {
        Map<String, Integer> map = new HashMap<>();
        long end = System.nanoTime() + length.toNanos();
        for (int i = 0; System.nanoTime() < end; i++) {
            map.merge(Integer.toString(i % 50_000), 1, Integer::sum);
        }
    }
}
