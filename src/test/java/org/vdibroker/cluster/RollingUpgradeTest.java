package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InvalidClassException;
import java.io.InvalidObjectException;
import java.io.Serializable;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.infinispan.commons.configuration.ClassAllowList;
import org.infinispan.commons.marshall.JavaSerializationMarshaller;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a rolling upgrade (nodes replaced one at a time with a newer broker) does to live state: cache values travel
 * between old and new nodes through Infinispan's JavaSerializationMarshaller with the allow-list of
 * infinispan-cluster.xml. Two versions of a value class (a record with an enum, as the broker's cache values are),
 * compiled here and loaded side by side, show which changes old and new nodes can read from each other; and every
 * Serializable class of the broker is a record or an enum (or pins its serialVersionUID), so these rules apply to all
 * live state. operations.md ("Upgrades") states the same rules.
 */
class RollingUpgradeTest {

    private static final String PKG = "org.vdibroker.cluster.upgradeprobe";
    private static final String OLD = """
            public enum Status { READY, IN_USE }
            ---
            public record Value(String id, Status status, long version) implements java.io.Serializable { }
            """;
    private static final String ADDED = """
            public enum Status { READY, IN_USE, HIBERNATED }
            ---
            public record Value(String id, Status status, long version, String note) implements java.io.Serializable { }
            """;
    private static final String RETYPED = """
            public enum Status { READY, IN_USE }
            ---
            public record Value(String id, Status status, String version) implements java.io.Serializable { }
            """;

    @TempDir
    static Path dir;
    private static Node oldNode;
    private static Node newNode;
    private static Node retypedNode;

    @BeforeAll
    static void nodes() throws Exception {
        oldNode = node("old", OLD);
        newNode = node("new", ADDED);
        retypedNode = node("retyped", RETYPED);
    }

    @Test
    void aComponentAddedByTheNewVersionIsEmptyOnEntriesOfOldNodesAndDroppedByOldNodes() throws Exception {
        Object written = oldNode.value("d-1", "IN_USE", 7L);
        Object read = newNode.read(oldNode.write(written));
        assertThat(read.getClass().getClassLoader()).isSameAs(newNode.loader);
        assertThat(newNode.components(read)).containsExactly("d-1", "IN_USE", 7L, null);

        Object fromNew = newNode.value("d-2", "READY", 3L, "only the new version knows this");
        Object readByOld = oldNode.read(newNode.write(fromNew));
        assertThat(oldNode.components(readByOld)).containsExactly("d-2", "READY", 3L);
    }

    @Test
    void anEnumConstantOnlyTheNewVersionKnowsCannotBeReadByOldNodes() throws Exception {
        byte[] bytes = newNode.write(newNode.value("d-3", "HIBERNATED", 1L, null));
        assertThatThrownBy(() -> oldNode.read(bytes)).isInstanceOf(InvalidObjectException.class)
                .hasMessageContaining("HIBERNATED");
    }

    @Test
    void aComponentWhoseTypeChangedCannotBeReadAcrossVersions() throws Exception {
        byte[] bytes = oldNode.write(oldNode.value("d-4", "READY", 5L));
        assertThatThrownBy(() -> retypedNode.read(bytes)).isInstanceOf(InvalidClassException.class)
                .hasMessageContaining("incompatible types for field version");
    }

    @Test
    void classesOutsideTheAllowListAreRefused() throws Exception {
        byte[] bytes = oldNode.write(new java.util.ArrayList<>(List.of(new javax.management.Attribute("a", "b"))));
        assertThatThrownBy(() -> oldNode.read(bytes)).hasMessageContaining("javax.management.Attribute");
    }

    @Test
    void everySerializableClassOfTheBrokerIsARecordOrAnEnumOrPinsItsSerialVersion() throws Exception {
        Path classes = Path.of("target", "classes");
        List<String> unpinned = new ArrayList<>();
        try (Stream<Path> files = Files.walk(classes.resolve("org/vdibroker"))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = classes.relativize(f).toString();
                if (!name.endsWith(".class")) {
                    continue;
                }
                Class<?> c = Class.forName(name.substring(0, name.length() - 6).replace('/', '.'), false,
                        getClass().getClassLoader());
                // exceptions, JPA keys and CDI type literals are Serializable by their supertypes, never cache values
                if (!Serializable.class.isAssignableFrom(c) || c.isInterface() || c.isRecord() || c.isEnum()
                        || Throwable.class.isAssignableFrom(c) || c.getName().endsWith("Entity$Key")
                        || jakarta.enterprise.util.TypeLiteral.class.isAssignableFrom(c)) {
                    continue;
                }
                boolean pinned;
                try {
                    pinned = Modifier.isStatic(c.getDeclaredField("serialVersionUID").getModifiers());
                } catch (NoSuchFieldException e) {
                    pinned = false;
                }
                if (!pinned) {
                    unpinned.add(c.getName());
                }
            }
        }
        assertThat(unpinned).as("Serializable classes that are neither records nor enums and have no serialVersionUID")
                .isEmpty();
    }

    // ---- one broker version: its classes in their own class loader, its marshaller ----

    private record Node(ClassLoader loader, JavaSerializationMarshaller marshaller) {
        byte[] write(Object value) throws Exception {
            return marshaller.objectToByteBuffer(value);
        }

        Object read(byte[] bytes) throws Exception {
            return marshaller.objectFromByteBuffer(bytes);
        }

        Object value(String id, String status, Object... rest) throws Exception {
            return ProbeVersions.value(loader, PKG, id, status, rest);
        }

        List<Object> components(Object record) throws Exception {
            return ProbeVersions.components(record);
        }
    }

    private static Node node(String name, String sources) throws Exception {
        ClassLoader loader = ProbeVersions.compile(dir, name, PKG, "", sources, List.of());
        return new Node(loader, new JavaSerializationMarshaller(new ClassAllowList(
                List.of(PKG + ".Value", PKG + ".Status"), allowList(), loader)));
    }

    /** The allow-list of infinispan-cluster.xml (the probe classes are added to it, as the broker's own are there). */
    private static List<String> allowList() throws Exception {
        String xml = Files.readString(Path.of("src/main/resources/infinispan-cluster.xml"));
        Matcher block = Pattern.compile("<allow-list>(.*?)</allow-list>", Pattern.DOTALL).matcher(xml);
        assertThat(block.find()).as("an allow-list in infinispan-cluster.xml").isTrue();
        List<String> regexps = new ArrayList<>();
        Matcher m = Pattern.compile("<regex>([^<]*)</regex>").matcher(block.group(1));
        while (m.find()) {
            regexps.add(m.group(1).trim());
        }
        Matcher c = Pattern.compile("<class>([^<]*)</class>").matcher(block.group(1));
        while (c.find()) {
            regexps.add(Pattern.quote(c.group(1).trim()));
        }
        return regexps;
    }
}
