package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import org.infinispan.configuration.parsing.ParserRegistry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.vdibroker.cluster.ClusterMarshaller.Format;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;

/**
 * The cluster's marshaller: every value class of the broker travels as a ProtoStream message and comes back equal
 * (instants to the nanosecond: conditional replaces compare whole values); a node reads what the other format wrote,
 * which is what a rolling upgrade and the outbox journal written before it need; what is not in the schema falls back
 * to Java serialization and its allow-list.
 */
class ClusterMarshallerTest {

    /** Serializable for other reasons than caches: a JPA composite key. */
    private static final List<String> NOT_CACHE_VALUES = List.of("org.vdibroker.pool.LoginCountEntity$Key");

    private static final ClusterMarshaller PROTOSTREAM = new ClusterMarshaller(Format.PROTOSTREAM);
    private static final ClusterMarshaller JAVA = new ClusterMarshaller(Format.JAVA);

    @BeforeAll
    static void allowList() throws Exception {
        PROTOSTREAM.initialize(ClusterAllowListTest.allowList("infinispan-cluster.xml"));
        JAVA.initialize(ClusterAllowListTest.allowList("infinispan-cluster.xml"));
    }

    @Test
    void everyValueClassOfTheBrokerIsInTheSchemaAndComesBackEqual() throws Exception {
        List<String> javaOnly = new ArrayList<>();
        int checked = 0;
        for (Class<?> type : ClusterAllowListTest.brokerSerializables()) {
            if (NOT_CACHE_VALUES.contains(type.getName())) {
                continue;
            }
            Object sample = ClusterAllowListTest.sample(type);
            if (!ClusterMarshaller.inSchema(sample)) {
                javaOnly.add(type.getName());
                continue;
            }
            byte[] bytes = PROTOSTREAM.objectToByteBuffer(sample);
            assertThat(ClusterMarshaller.javaSerialized(bytes, 0, bytes.length)).as(type.getName()).isFalse();
            Object back = PROTOSTREAM.objectFromByteBuffer(bytes);
            if (type.isRecord()) {
                assertThat(back).as(type.getName()).isEqualTo(sample);
            } else {
                assertThat(back).as(type.getName()).isInstanceOf(type);
            }
            checked++;
        }
        assertThat(javaOnly).as("value classes missing from WireSchema (they would fall back to Java serialization)")
                .isEmpty();
        assertThat(checked).isGreaterThan(25);
    }

    @Test
    void eachFormatReadsWhatTheOtherWrote() throws Exception {
        for (Object value : List.of(session(), desktop(), "desktop-1", 42L, 7, true,
                Instant.parse("2026-12-07T09:00:00.000000001Z"))) {
            byte[] proto = PROTOSTREAM.objectToByteBuffer(value);
            byte[] java = JAVA.objectToByteBuffer(value);
            assertThat(ClusterMarshaller.javaSerialized(java, 0, java.length)).isTrue();
            assertThat(ClusterMarshaller.javaSerialized(proto, 0, proto.length)).isFalse();
            assertThat(JAVA.objectFromByteBuffer(proto)).as("Java-writing node reads ProtoStream").isEqualTo(value);
            assertThat(PROTOSTREAM.objectFromByteBuffer(java)).as("ProtoStream node reads Java").isEqualTo(value);
        }
    }

    @Test
    void aMessageIsAFractionOfItsJavaSerialization() throws Exception {
        // not a speed test: sizes are exact. What a node sends per write of a session and of a desktop
        for (Object value : List.of(session(), desktop())) {
            int proto = PROTOSTREAM.objectToByteBuffer(value).length;
            int java = JAVA.objectToByteBuffer(value).length;
            assertThat(proto).as(value.getClass().getSimpleName() + " " + proto + " vs " + java + " bytes")
                    .isLessThan(java / 3);
        }
    }

    @Test
    void whatIsNotInTheSchemaFallsBackToJavaSerializationAndItsAllowList() throws Exception {
        HashMap<String, Long> leases = new HashMap<>();
        leases.put("stream-1", 1_000L);
        byte[] bytes = PROTOSTREAM.objectToByteBuffer(leases);
        assertThat(ClusterMarshaller.javaSerialized(bytes, 0, bytes.length)).isTrue();
        assertThat(PROTOSTREAM.objectFromByteBuffer(bytes)).isEqualTo(leases);

        byte[] foreign = JAVA.objectToByteBuffer(new java.util.TreeMap<>(leases));
        assertThatThrownBy(() -> PROTOSTREAM.objectFromByteBuffer(foreign)).hasMessageContaining("allow");
    }

    @ParameterizedTest
    @ValueSource(strings = { "infinispan-cluster.xml", "infinispan-local.xml" })
    void theInfinispanConfigurationNamesIt(String file) throws Exception {
        var holder = new ParserRegistry(getClass().getClassLoader(), false, System.getProperties())
                .parse(getClass().getClassLoader().getResource(file));
        assertThat(holder.getGlobalConfigurationBuilder().build().serialization().marshaller())
                .isInstanceOf(ClusterMarshaller.class);
    }

    @Test
    void theFormatIsProtoStreamUnlessSetAndAWrongNameIsRefused() {
        String before = System.getProperty("vdi.cluster.marshalling");
        try {
            System.clearProperty("vdi.cluster.marshalling");
            if (System.getenv("VDI_CLUSTER_MARSHALLING") == null) {
                assertThat(Format.configured()).isEqualTo(Format.PROTOSTREAM);
            }
            System.setProperty("vdi.cluster.marshalling", "Java");
            assertThat(new ClusterMarshaller().writes()).isEqualTo(Format.JAVA);
            for (Format f : Format.values()) { // what a node passes on to another reads back as the same format
                System.setProperty("vdi.cluster.marshalling", f.setting());
                assertThat(Format.configured()).isEqualTo(f);
            }
            System.setProperty("vdi.cluster.marshalling", "kryo");
            assertThatThrownBy(Format::configured).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("protostream or java, not kryo");
        } finally {
            if (before == null) {
                System.clearProperty("vdi.cluster.marshalling");
            } else {
                System.setProperty("vdi.cluster.marshalling", before);
            }
        }
    }

    private static SessionState session() {
        Instant t = Instant.parse("2026-12-07T09:00:00.123456789Z");
        return new SessionState("s-1", "pool-a", "sub-1", "alice", SessionStatus.READY, "d-1", "rdp", 12, t, t, t,
                null, null, 3);
    }

    private static DesktopState desktop() {
        Instant t = Instant.parse("2026-12-07T09:00:00.987654321Z");
        return new DesktopState("d-1", "pool-a", "hv-1", "pool-a-0000002a", "vm-42", DesktopStatus.ASSIGNED, "s-1",
                null, null, 2, new TaskRef("hv-1", "task-1", "vm-42"), 0, t, 9);
    }
}
