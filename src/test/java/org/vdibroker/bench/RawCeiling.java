package org.vdibroker.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;
import org.infinispan.Cache;
import org.infinispan.configuration.parsing.ConfigurationBuilderHolder;
import org.infinispan.configuration.parsing.ParserRegistry;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.remoting.transport.jgroups.FileJGroupsChannelConfigurator;
import org.infinispan.remoting.transport.jgroups.JGroupsTransport;
import org.jgroups.JChannel;
import org.vdibroker.cluster.EncryptedChannelConfigurator;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;

/**
 * The raw ceiling of a warm assignment: the one conditional replace that hands a desktop to a session (READY to
 * ASSIGNED, version + 1), issued straight on an Infinispan cluster of the broker's shape, without HTTP, tokens,
 * sessions or anything else the broker does. Three cache managers, each with its own JGroups channel over TCP on
 * loopback, configured from the broker's own {@code infinispan-cluster.xml} and {@code jgroups-tcpping.xml} (the
 * {@code desktops} cache: distributed, two synchronous owners, the same marshaller writing the same format as the
 * nodes ({@code vdi.cluster.marshalling}) and the same value class). They run in the benchmark's JVM, not in three
 * JVMs: said in the report.
 */
public final class RawCeiling implements AutoCloseable {

    private static final Pattern PROPERTY = Pattern.compile("\\$\\{([^,}:]+)(?:,[^:}]*)?(?::([^}]*))?}");

    private final List<DefaultCacheManager> managers = new ArrayList<>();
    private final List<Cache<String, DesktopState>> caches = new ArrayList<>();

    /** Starts {@code nodes} members on the given JGroups ports (each also needs port + 100) and waits for the view. */
    public RawCeiling(int nodes, List<Integer> ports) {
        String initialHosts = String.join(",", ports.stream().map(p -> "127.0.0.1[" + p + "]").toList());
        String clusterName = "bench-raw-" + ProcessHandle.current().pid();
        byte[] rawKey = new byte[32];
        new java.security.SecureRandom().nextBytes(rawKey);
        javax.crypto.SecretKey clusterKey = new javax.crypto.spec.SecretKeySpec(rawKey, "AES");
        try {
            for (int i = 0; i < nodes; i++) {
                Properties properties = new Properties();
                properties.setProperty("vdi.cluster.name", clusterName);
                properties.setProperty("vdi.cluster.node-name", "raw-" + (i + 1));
                properties.setProperty("vdi.cluster.bind-address", "127.0.0.1");
                properties.setProperty("vdi.cluster.bind-port", Integer.toString(ports.get(i)));
                properties.setProperty("vdi.cluster.initial-hosts", initialHosts);
                ConfigurationBuilderHolder holder;
                java.net.URL url = RawCeiling.class.getClassLoader().getResource("infinispan-cluster.xml");
                try (InputStream xml = resource("infinispan-cluster.xml")) {
                    holder = new ParserRegistry(RawCeiling.class.getClassLoader(), false, properties)
                            .parse(xml,
                                    new org.infinispan.commons.configuration.io.URLConfigurationResourceResolver(url),
                                    org.infinispan.commons.dataconversion.MediaType.APPLICATION_XML);
                }
                // the same encrypted stack as the broker's nodes (SYM_ENCRYPT with a cluster key), so the ceiling
                // pays for the same cryptography
                JChannel channel = new EncryptedChannelConfigurator(new FileJGroupsChannelConfigurator("tcpping",
                        "jgroups-tcpping.xml", substitute(resource("jgroups-tcpping.xml"), properties), properties),
                        clusterKey).createChannel(clusterName);
                holder.getGlobalConfigurationBuilder().transport().transport(new JGroupsTransport(channel));
                managers.add(new DefaultCacheManager(holder, true));
            }
            for (DefaultCacheManager manager : managers) {
                caches.add(manager.getCache("desktops"));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (managers.stream().anyMatch(m -> m.getMembers() == null || m.getMembers().size() != nodes)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("raw Infinispan members did not form one cluster of " + nodes);
                }
                Thread.sleep(200);
            }
        } catch (Exception e) {
            close();
            throw new IllegalStateException("could not start the raw Infinispan cluster", e);
        }
    }

    /** Puts {@code count} READY desktops of pool {@code pool} (as the pool manager leaves them). */
    public List<String> seed(String pool, int count) {
        List<String> ids = new ArrayList<>();
        Cache<String, DesktopState> cache = caches.get(0);
        Map<String, DesktopState> batch = new java.util.HashMap<>();
        for (int i = 0; i < count; i++) {
            String id = pool + "-raw-" + i;
            ids.add(id);
            batch.put(id, new DesktopState(id, pool, "sim-1", "vm-" + i, "vm-" + i, DesktopStatus.READY, null, null,
                    null, 1, null, 0, Instant.now(), 1));
            if (batch.size() == 500) {
                cache.putAll(batch);
                batch.clear();
            }
        }
        cache.putAll(batch);
        return ids;
    }

    /**
     * {@code clients} threads, each claiming the next desktop with get + conditional replace on node i mod n, until
     * every id was claimed once or {@code maxDuration} passed. Returns throughput and latency like a load run.
     */
    public LoadGenerator.Result claim(String name, List<String> ids, int clients, Duration maxDuration) {
        Histogram histogram = new ConcurrentHistogram(TimeUnit.MINUTES.toMicros(10), 3);
        AtomicLong next = new AtomicLong();
        LongAdder ok = new LongAdder();
        LongAdder lost = new LongAdder();
        long start = System.nanoTime();
        long deadline = start + maxDuration.toNanos();
        CountDownLatch done = new CountDownLatch(clients);
        for (int c = 0; c < clients; c++) {
            Thread client = new Thread(() -> {
                try {
                    while (System.nanoTime() < deadline) {
                        long index = next.getAndIncrement();
                        if (index >= ids.size()) {
                            break;
                        }
                        Cache<String, DesktopState> cache = caches.get((int) (index % caches.size()));
                        long sent = System.nanoTime();
                        String id = ids.get((int) index);
                        DesktopState ready = cache.get(id);
                        DesktopState assigned = new DesktopState(ready.id(), ready.poolId(), ready.hypervisorId(),
                                ready.name(), ready.vmRef(), DesktopStatus.ASSIGNED, "raw-session-" + index,
                                "raw-user-" + index, null, ready.publication(), null, 0, Instant.now(),
                                ready.version() + 1);
                        if (ready.status() == DesktopStatus.READY && cache.replace(id, ready, assigned)) {
                            ok.increment();
                        } else {
                            lost.increment();
                        }
                        histogram.recordValue(Math.max(1, (System.nanoTime() - sent) / 1000));
                    }
                } finally {
                    done.countDown();
                }
            }, "raw-client-" + c);
            client.setDaemon(true);
            client.start();
        }
        try {
            done.await(maxDuration.toSeconds() + 60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return new LoadGenerator.Result(name, "closed", clients, 0, ok.sum() + lost.sum(), ok.sum(), lost.sum(),
                lost.sum() == 0 ? Map.of(1, ok.sum()) : Map.of(1, ok.sum(), 0, lost.sum()), seconds, histogram);
    }

    /** Desktops not ASSIGNED exactly once: each claimed id must hold the session of the client that claimed it. */
    public long violations(List<String> claimed) {
        Cache<String, DesktopState> cache = caches.get(0);
        return claimed.stream().map(cache::get)
                .filter(d -> d.status() != DesktopStatus.ASSIGNED || d.version() != 2).count();
    }

    @Override
    public void close() {
        for (int i = managers.size() - 1; i >= 0; i--) {
            try {
                managers.get(i).stop();
            } catch (RuntimeException e) {
                // stopping a benchmark's cluster
            }
        }
    }

    private static InputStream resource(String name) {
        InputStream in = RawCeiling.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IllegalStateException(name + " is not on the class path");
        }
        return in;
    }

    /** JGroups' own ${a,b:default} syntax, resolved from {@code properties} (three members in one JVM differ). */
    private static InputStream substitute(InputStream xml, Properties properties) throws IOException {
        String text;
        try (xml) {
            text = new String(xml.readAllBytes(), StandardCharsets.UTF_8);
        }
        Matcher matcher = PROPERTY.matcher(text);
        StringBuilder out = new StringBuilder();
        while (matcher.find()) {
            String value = properties.getProperty(matcher.group(1), matcher.group(2) == null ? "" : matcher.group(2));
            matcher.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        matcher.appendTail(out);
        return new java.io.ByteArrayInputStream(out.toString().getBytes(StandardCharsets.UTF_8));
    }
}
