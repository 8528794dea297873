package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.infinispan.protostream.GeneratedSchema;
import org.infinispan.protostream.ProtobufUtil;
import org.infinispan.protostream.SerializationContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a rolling upgrade does to live state written as ProtoStream messages (ClusterMarshaller's default): two
 * versions of a value class, annotated as the broker's are and compiled here with protostream-processor, each in its
 * own class loader with its own generated schema, read each other's bytes. These are the rules operations.md
 * ("Upgrades") states for changing a cache value class; RollingUpgradeTest states them for Java serialization.
 */
class ProtoStreamUpgradeTest {

    private static final String PKG = "org.vdibroker.cluster.protoprobe";
    private static final String SCHEMA = """
            @org.infinispan.protostream.annotations.ProtoSchema(schemaPackageName = "probe",
                    schemaFileName = "probe.proto", service = false, includeClasses = { Value.class, Status.class })
            public interface Probe extends org.infinispan.protostream.GeneratedSchema { }
            """;
    private static final String OLD = """
            public enum Status { @ProtoEnumValue(0) READY, @ProtoEnumValue(1) IN_USE }
            ---
            public record Value(@ProtoField(number = 1) String id, @ProtoField(number = 2) Status status,
                    @ProtoField(number = 3) long version) { }
            """;
    private static final String ADDED = """
            public enum Status { @ProtoEnumValue(0) READY, @ProtoEnumValue(1) IN_USE, @ProtoEnumValue(2) HIBERNATED }
            ---
            public record Value(@ProtoField(number = 1) String id, @ProtoField(number = 2) Status status,
                    @ProtoField(number = 3) long version, @ProtoField(number = 4) String note) { }
            """;
    private static final String RETYPED = """
            public enum Status { @ProtoEnumValue(0) READY, @ProtoEnumValue(1) IN_USE }
            ---
            public record Value(@ProtoField(number = 1) String id, @ProtoField(number = 2) Status status,
                    @ProtoField(number = 3) String version) { }
            """;
    private static final String RENUMBERED = """
            public enum Status { @ProtoEnumValue(0) READY, @ProtoEnumValue(1) IN_USE }
            ---
            public record Value(@ProtoField(number = 1) String id, @ProtoField(number = 2) Status status,
                    @ProtoField(number = 5) long version) { }
            """;

    @TempDir
    static Path dir;
    private static Node oldNode;
    private static Node newNode;
    private static Node retypedNode;
    private static Node renumberedNode;

    @BeforeAll
    static void nodes() throws Exception {
        oldNode = node("old", OLD);
        newNode = node("new", ADDED);
        retypedNode = node("retyped", RETYPED);
        renumberedNode = node("renumbered", RENUMBERED);
    }

    @Test
    void theBrokersWireFormatChangesOnlyOnPurpose() throws Exception {
        // the schema protostream-processor generated from this build's annotations, against the one checked in. A
        // difference is a change of the wire format: check it against the rules of this class (operations.md,
        // "Upgrades"), then copy target/classes/proto/vdi-broker.proto to src/test/resources/wire/. This also catches
        // the processor numbering fields itself: it ignored @ProtoField(3) (the value form) on record components
        // of a record without a factory (protostream-processor 6.0.6) and numbered them in order, so the broker's
        // types all use the number form, @ProtoField(number = 3).
        String generated = Files.readString(Path.of("target/classes/proto/vdi-broker.proto"));
        String expected = Files.readString(Path.of("src/test/resources/wire/vdi-broker.proto"));
        assertThat(generated).isEqualTo(expected);
    }

    @Test
    void aFieldAddedByTheNewVersionIsEmptyOnEntriesOfOldNodesAndDroppedByOldNodes() throws Exception {
        Object read = newNode.read(oldNode.write(oldNode.value("d-1", "IN_USE", 7L)));
        assertThat(read.getClass().getClassLoader()).isSameAs(newNode.loader);
        assertThat(newNode.components(read)).containsExactly("d-1", "IN_USE", 7L, null);

        Object fromNew = newNode.value("d-2", "READY", 3L, "only the new version knows this");
        assertThat(oldNode.components(oldNode.read(newNode.write(fromNew)))).containsExactly("d-2", "READY", 3L);
    }

    @Test
    void anEnumConstantOnlyTheNewVersionKnowsReadsAsNoValueOnOldNodes() throws Exception {
        Object read = oldNode.read(newNode.write(newNode.value("d-3", "HIBERNATED", 1L, null)));
        assertThat(oldNode.components(read)).containsExactly("d-3", null, 1L);
    }

    @Test
    void aFieldWhoseTypeChangedIsSilentlyEmptyAcrossVersions() throws Exception {
        Object read = retypedNode.read(oldNode.write(oldNode.value("d-4", "READY", 5L)));
        assertThat(retypedNode.components(read)).containsExactly("d-4", "READY", null);
    }

    @Test
    void aFieldGivenAnotherNumberIsSilentlyEmptyAcrossVersions() throws Exception {
        Object read = renumberedNode.read(oldNode.write(oldNode.value("d-5", "READY", 5L)));
        assertThat(renumberedNode.components(read)).containsExactly("d-5", "READY", 0L);
    }

    // ---- one broker version: its classes and generated schema in their own class loader ----

    private record Node(ClassLoader loader, SerializationContext context) {
        byte[] write(Object value) throws Exception {
            return ProtobufUtil.toWrappedByteArray(context, value);
        }

        Object read(byte[] bytes) throws Exception {
            return ProtobufUtil.fromWrappedByteArray(context, bytes);
        }

        Object value(String id, String status, Object... rest) throws Exception {
            return ProbeVersions.value(loader, PKG, id, status, rest);
        }

        List<Object> components(Object record) throws Exception {
            return ProbeVersions.components(record);
        }
    }

    private static Node node(String name, String sources) throws Exception {
        // the processor and what it needs, from this test's class path (protostream-processor is a provided
        // dependency of the broker)
        String path = String.join(java.io.File.pathSeparator, jarOf(ProtobufUtil.class),
                jarOf(Class.forName("org.infinispan.protostream.processor.ProtoSchemaAnnotationProcessor")),
                jarOf(org.jboss.logging.Logger.class));
        ClassLoader loader = ProbeVersions.compile(dir, name, PKG, "import org.infinispan.protostream.annotations.*;\n",
                sources + "---" + SCHEMA, List.of("-classpath", path, "-processorpath", path));
        SerializationContext context = ProtobufUtil.newSerializationContext();
        ((GeneratedSchema) loader.loadClass(PKG + ".ProbeImpl").getDeclaredConstructor().newInstance())
                .register(context);
        return new Node(loader, context);
    }

    private static String jarOf(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
