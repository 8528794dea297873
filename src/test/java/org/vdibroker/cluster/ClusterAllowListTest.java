package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.Serializable;
import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.stream.Stream;
import org.infinispan.commons.configuration.ClassAllowList;
import org.infinispan.configuration.parsing.ParserRegistry;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The cache marshaller deserializes only the broker's own value classes (an exact list in the Infinispan XML): every
 * Serializable class of the broker round-trips, anything else (a gadget chain's classes) is refused.
 */
class ClusterAllowListTest {

    @ParameterizedTest
    @ValueSource(strings = { "infinispan-cluster.xml", "infinispan-local.xml" })
    void onlyTheBrokersValueClassesAreDeserialized(String file) throws Exception {
        // what the XML names, writing Java serialization (what it falls back to, and what older nodes send)
        ClusterMarshaller marshaller = new ClusterMarshaller(ClusterMarshaller.Format.JAVA);
        marshaller.initialize(allowList(file));
        List<Class<?>> valueClasses = brokerSerializables();
        assertThat(valueClasses).hasSizeGreaterThan(10);
        for (Class<?> type : valueClasses) {
            Object sample = sample(type);
            Object back = marshaller.objectFromByteBuffer(marshaller.objectToByteBuffer(sample));
            assertThat(back).as(type.getName() + " round-trips (listed in " + file + ")").isNotNull();
            if (type.isRecord()) {
                assertThat(back).isEqualTo(sample);
            }
        }
        // classes outside the list: the start of many gadget chains, and an ordinary serializable JDK class
        PriorityQueue<String> queue = new PriorityQueue<>(Comparator.<String>naturalOrder());
        queue.add("x");
        for (Object foreign : List.of(queue, new java.util.TreeMap<>(Map.of("a", "b")),
                new java.util.concurrent.ConcurrentHashMap<>(Map.of("a", "b")))) {
            byte[] bytes = marshaller.objectToByteBuffer(foreign);
            assertThatThrownBy(() -> marshaller.objectFromByteBuffer(bytes)).as(foreign.getClass().getName())
                    .hasMessageContaining("allow");
        }
    }

    static ClassAllowList allowList(String file) throws IOException {
        URL url = ClusterAllowListTest.class.getClassLoader().getResource(file);
        var holder = new ParserRegistry(ClusterAllowListTest.class.getClassLoader(), false, System.getProperties())
                .parse(url);
        var allow = holder.getGlobalConfigurationBuilder().build().serialization().allowList();
        assertThat(allow.getRegexps()).as("no wildcards in " + file).isEmpty();
        return allow.create();
    }

    /** Every concrete Serializable class of the broker except exceptions: the values its caches may hold. */
    static List<Class<?>> brokerSerializables() throws IOException, URISyntaxException {
        Path root = Path.of(ClusterAllowListTest.class.getClassLoader().getResource("infinispan-local.xml").toURI())
                .getParent();
        List<Class<?>> result = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root.resolve("org/vdibroker"))) {
            for (Path p : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name = root.relativize(p).toString().replace('/', '.').replaceAll("\\.class$", "");
                try {
                    Class<?> type = Class.forName(name, false, ClusterAllowListTest.class.getClassLoader());
                    if (Serializable.class.isAssignableFrom(type) && !Throwable.class.isAssignableFrom(type)
                            && !type.isInterface() && !Modifier.isAbstract(type.getModifiers())
                            && !type.isAnonymousClass() && !type.isSynthetic() && !type.isEnum()) {
                        result.add(type);
                    }
                } catch (ClassNotFoundException | LinkageError e) {
                    // generated or optional classes that do not load outside Quarkus are no cache values
                }
            }
        }
        return result;
    }

    /**
     * A value of any type a broker value class holds: every component set (instants with nanoseconds), collections
     * with one element of their declared element type, nested records built the same way.
     */
    static Object sample(Type declared) throws Exception {
        Class<?> type = declared instanceof ParameterizedType p ? (Class<?>) p.getRawType() : (Class<?>) declared;
        Type[] args = declared instanceof ParameterizedType p ? p.getActualTypeArguments() : new Type[0];
        if (type == String.class || type == Object.class || type == Serializable.class) {
            return "x";
        }
        if (type == long.class || type == Long.class) {
            return 7L;
        }
        if (type == int.class || type == Integer.class) {
            return 3;
        }
        if (type == boolean.class || type == Boolean.class) {
            return true;
        }
        if (type == double.class || type == Double.class) {
            return 1.5;
        }
        if (type == Instant.class) {
            return Instant.parse("2026-12-04T05:00:00.123456789Z");
        }
        if (type.isEnum()) {
            return type.getEnumConstants()[type.getEnumConstants().length - 1];
        }
        if (Map.class.isAssignableFrom(type)) {
            Map<Object, Object> map = new LinkedHashMap<>();
            map.put(sample(args.length > 0 ? args[0] : String.class), sample(args.length > 1 ? args[1] : String.class));
            return map;
        }
        if (Set.class.isAssignableFrom(type)) {
            return new HashSet<>(List.of(sample(args.length > 0 ? args[0] : String.class)));
        }
        if (List.class.isAssignableFrom(type)) {
            return new ArrayList<>(List.of(sample(args.length > 0 ? args[0] : String.class)));
        }
        if (type.isRecord()) {
            RecordComponent[] components = type.getRecordComponents();
            Class<?>[] types = new Class<?>[components.length];
            Object[] values = new Object[components.length];
            for (int i = 0; i < components.length; i++) {
                types[i] = components[i].getType();
                values[i] = sample(type == DefinitionCache.Versioned.class && i == 1 ? String.class
                        : components[i].getGenericType());
            }
            Constructor<?> constructor = type.getDeclaredConstructor(types);
            constructor.setAccessible(true);
            return constructor.newInstance(values);
        }
        Constructor<?> constructor = type.getDeclaredConstructor();
        constructor.setAccessible(true);
        return constructor.newInstance();
    }
}
