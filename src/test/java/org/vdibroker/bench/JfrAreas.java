package org.vdibroker.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where JFR's Java samples of the broker nodes fall, by area, within a window of time (a benchmark phase, from the
 * load generator's {@code [bench] <phase>, N clients: from ... / until ...} lines).
 *
 * <p>Each sample counts once, to the innermost frame of its stack (from the running method outwards) that belongs
 * to an area: JDK frames count to the code that called them (Java serialization excepted). So the work done above a
 * protocol on its thread (e.g. Infinispan handling a command that JGroups' encryption just decrypted) is not counted
 * to that protocol, which counting every area a stack passes through did (benchmarks.md, 2026-12-07).
 *
 * <pre>java -cp target/test-classes org.vdibroker.bench.JfrAreas FROM UNTIL node-0.jfr node-1.jfr ...</pre>
 *
 * With {@code -Djfr.top=N} it also lists, under each area, the N methods that decided most of its samples; with
 * {@code -Djfr.measure=allocation} it weighs JFR's allocation samples (bytes) instead of counting CPU samples.
 */
public final class JfrAreas {

    /** An area and the prefixes of the class names (dotted, as JFR gives them) that belong to it. */
    /** An area: the classes whose names start with one of its prefixes, or contain a pattern given as "*text". */
    record Area(String name, List<String> prefixes) {

        boolean holds(String className) {
            return prefixes.stream().anyMatch(p -> p.startsWith("*") ? className.contains(p.substring(1))
                    : className.startsWith(p));
        }
    }

    static final List<Area> AREAS = List.of(
            // JDK frames are no area: AES under JGroups' Encrypt counts to encryption, a SecureRandom under the
            // broker's UUID.randomUUID() to the broker, an RSA check under jose4j to the token check
            new Area("cluster encryption (SYM_ENCRYPT)", List.of("org.jgroups.protocols.Encrypt",
                    "org.jgroups.protocols.SYM_ENCRYPT")),
            new Area("token check (OIDC, jose4j)", List.of("io.quarkus.oidc.", "org.jose4j.", "io.smallrye.jwt.")),
            // the exception: serialization's own JDK classes, called by Infinispan's marshaller
            new Area("Java serialization", List.of("java.io.ObjectOutputStream", "java.io.ObjectInputStream",
                    "java.io.ObjectStreamClass")),
            // the library, and the marshallers protostream-processor generated into the broker's value classes
            new Area("ProtoStream", List.of("org.infinispan.protostream.", "*$___Marshaller_",
                    "org.vdibroker.WireSchemaImpl", "org.vdibroker.cluster.ClusterMarshaller",
                    "org.vdibroker.cluster.WireInstant")),
            new Area("Infinispan marshalling", List.of("org.infinispan.marshall.", "org.infinispan.commons.marshall.")),
            new Area("JSON", List.of("com.fasterxml.jackson.")),
            new Area("pool manager", List.of("org.vdibroker.pool.PoolManager", "org.vdibroker.pool.Reconciler")),
            new Area("outbox", List.of("org.vdibroker.persistence.Outbox")),
            new Area("broker code (other)", List.of("org.vdibroker.")),
            new Area("JGroups (other)", List.of("org.jgroups.")),
            new Area("Infinispan (other)", List.of("org.infinispan.")),
            new Area("HTTP (Vert.x, Netty, RESTEasy)", List.of("io.vertx.", "io.netty.", "org.jboss.resteasy.")),
            new Area("Quarkus, Arc, SmallRye (other)", List.of("io.quarkus.", "io.smallrye.")),
            new Area("Hibernate, JDBC", List.of("org.hibernate.", "org.h2.", "org.postgresql.", "io.agroal.")),
            new Area("Micrometer", List.of("io.micrometer.")));

    static final String JDK_ONLY = "JDK only (no frame of an area)";

    private JfrAreas() {
    }

    /** What the events of a window add up to: CPU samples, or the bytes the sampled allocations stand for. */
    enum Measure {
        CPU("jdk.ExecutionSample", "Java samples"),
        ALLOCATION("jdk.ObjectAllocationSample", "bytes allocated (as JFR's allocation samples weigh them)");

        final String event;
        final String unit;

        Measure(String event, String unit) {
            this.event = event;
            this.unit = unit;
        }

        long weight(RecordedEvent e) {
            return this == CPU ? 1 : e.getLong("weight");
        }
    }

    /** CPU samples per area in [from, until] over the recordings, most first; JDK_ONLY for stacks of no area. */
    static Map<String, Long> samples(List<Path> recordings, Instant from, Instant until) throws IOException {
        return sum(recordings, from, until, Measure.CPU, new HashMap<>());
    }

    /**
     * The measure per area in [from, until] over the recordings, most first, and in {@code methods} each area's share
     * by the method that decided the area (its innermost frame of that area).
     */
    static Map<String, Long> sum(List<Path> recordings, Instant from, Instant until, Measure measure,
            Map<String, Map<String, Long>> methods) throws IOException {
        Map<String, Long> sums = new HashMap<>();
        for (Path recording : recordings) {
            try (RecordingFile file = new RecordingFile(recording)) {
                while (file.hasMoreEvents()) {
                    RecordedEvent event = file.readEvent();
                    if (!event.getEventType().getName().equals(measure.event)
                            || event.getStartTime().isBefore(from) || event.getStartTime().isAfter(until)) {
                        continue;
                    }
                    List<RecordedFrame> frames = event.getStackTrace() == null ? List.of()
                            : event.getStackTrace().getFrames().stream().filter(RecordedFrame::isJavaFrame).toList();
                    int at = innermost(frames.stream().map(f -> f.getMethod().getType().getName()).toList());
                    String area = at < 0 ? JDK_ONLY : areaHolding(frames.get(at).getMethod().getType().getName());
                    String method = at < 0 ? "" : frames.get(at).getMethod().getType().getName() + "."
                            + frames.get(at).getMethod().getName();
                    long weight = measure.weight(event);
                    sums.merge(area, weight, Long::sum);
                    methods.computeIfAbsent(area, a -> new HashMap<>()).merge(method, weight, Long::sum);
                }
            }
        }
        return mostFirst(sums);
    }

    /** The area of a stack given as its frames' class names, the running method first. */
    static String areaOf(List<String> typesFromLeaf) {
        int at = innermost(typesFromLeaf);
        return at < 0 ? JDK_ONLY : areaHolding(typesFromLeaf.get(at));
    }

    /** Index of the innermost frame that belongs to an area, -1 if none does. */
    private static int innermost(List<String> typesFromLeaf) {
        for (int i = 0; i < typesFromLeaf.size(); i++) {
            if (areaHolding(typesFromLeaf.get(i)) != null) {
                return i;
            }
        }
        return -1;
    }

    /** The first area of {@link #AREAS} that holds the class, null if none does (a JDK class, say). */
    private static String areaHolding(String type) {
        return AREAS.stream().filter(a -> a.holds(type)).map(Area::name).findFirst().orElse(null);
    }

    private static Map<String, Long> mostFirst(Map<String, Long> counts) {
        List<Map.Entry<String, Long>> sorted = new ArrayList<>(counts.entrySet());
        sorted.sort(Map.Entry.<String, Long>comparingByValue().reversed());
        Map<String, Long> result = new LinkedHashMap<>();
        sorted.forEach(e -> result.put(e.getKey(), e.getValue()));
        return result;
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: JfrAreas FROM UNTIL recording.jfr... (FROM, UNTIL as 2026-12-07T04:29:08Z)");
            System.exit(2);
        }
        List<Path> recordings = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            recordings.add(Path.of(args[i]));
        }
        Measure measure = Measure.valueOf(System.getProperty("jfr.measure", "cpu").toUpperCase(Locale.ROOT));
        Map<String, Map<String, Long>> methods = new HashMap<>();
        Map<String, Long> counts = sum(recordings, Instant.parse(args[0]), Instant.parse(args[1]), measure, methods);
        long total = counts.values().stream().mapToLong(Long::longValue).sum();
        int top = Integer.getInteger("jfr.top", 0);
        System.out.println(measure.unit + " in the window: " + total);
        counts.forEach((area, n) -> {
            System.out.printf(Locale.ROOT, "%5.1f %%  %s%n", 100.0 * n / total, area);
            mostFirst(methods.getOrDefault(area, Map.of())).entrySet().stream().limit(top).forEach(m -> System.out
                    .printf(Locale.ROOT, "          %5.1f %%  %s%n", 100.0 * m.getValue() / total, m.getKey()));
        });
    }
}
