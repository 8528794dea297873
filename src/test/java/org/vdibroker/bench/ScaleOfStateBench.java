package org.vdibroker.bench;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.infinispan.Cache;
import org.infinispan.configuration.parsing.ConfigurationBuilderHolder;
import org.infinispan.configuration.parsing.ParserRegistry;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;
import org.vdibroker.session.SessionStore;

/**
 * Benchmark 4, scale of state (in-process, one JVM, no HTTP): heap per 10,000 sessions and per 10,000 desktops, the
 * pool manager's walk over 100,000 desktops, and the cost of a queued user's position at 1k/10k/100k queued users. Entries are the broker's own cache values
 * (SessionState, DesktopState) in a cache manager built from the broker's infinispan-local.xml; the sessions go
 * through the real SessionStore, whose listeners keep its node-local indexes (by user, queued by pool, by status).
 * Heap is read from the MemoryMXBean after System.gc() (retained heap of the whole JVM before and after, divided by
 * the count). Writes target/bench/scale-of-state.{json,md}.
 */
public final class ScaleOfStateBench {

    private static final int HEAP_COUNT = Integer.getInteger("bench.scale.heap-count", 10_000);
    private static final int TICK_DESKTOPS = Integer.getInteger("bench.scale.tick-desktops", 100_000);
    private static final int[] QUEUES = Arrays.stream(System.getProperty("bench.scale.queues", "1000,10000,100000")
            .split(",")).mapToInt(Integer::parseInt).toArray();

    public static void main(String[] args) throws Exception {
        BenchReport report = new BenchReport("scale-of-state", "Benchmark 4: scale of state");
        report.setting("heapCount", HEAP_COUNT);
        report.setting("queues", Arrays.toString(QUEUES));
        report.setting("infinispan", "infinispan-local.xml");
        ConfigurationBuilderHolder holder = new ParserRegistry()
                .parse(ScaleOfStateBench.class.getClassLoader().getResource("infinispan-local.xml"));
        try (EmbeddedCacheManager manager = new DefaultCacheManager(holder, true)) {
            SessionStore store = attached(new SessionStore(), manager);
            DesktopService desktopService = attached(new DesktopService(), manager);
            Cache<String, SessionState> sessions = manager.getCache(CacheNames.SESSIONS);
            Cache<String, String> userSessions = manager.getCache(CacheNames.USER_SESSIONS);
            Cache<String, DesktopState> desktops = manager.getCache(CacheNames.DESKTOPS);
            StringBuilder md = new StringBuilder();

            // heap: what the broker keeps per session (the session, its pool|user entry, three index entries)
            long before = retainedHeap();
            Instant now = Instant.now();
            for (int i = 0; i < HEAP_COUNT; i++) {
                SessionState s = session("heap-pool", "user-" + i, SessionStatus.CONNECTED, i, now);
                sessions.put(s.id(), s);
                userSessions.put("heap-pool|" + s.subject(), s.id());
            }
            long perSession = (retainedHeap() - before) / HEAP_COUNT;
            before = retainedHeap();
            for (int i = 0; i < HEAP_COUNT; i++) {
                String id = UUID.randomUUID().toString();
                DesktopState d = new DesktopState(id, "heap-pool", "hv-" + (i % 1000), "heap-pool-" + i,
                        "vm-" + id, DesktopStatus.ASSIGNED, UUID.randomUUID().toString(), "user-" + i,
                        UUID.randomUUID().toString(), 3,
                        new TaskRef("hv-" + (i % 1000), "task-" + i, "vm-" + id), 0, now, 7);
                desktops.put(id, d);
            }
            long perDesktop = (retainedHeap() - before) / HEAP_COUNT;
            report.put("heapBytesPerSession", perSession);
            report.put("heapBytesPerDesktop", perDesktop);
            System.out.printf(Locale.ROOT, "[bench] heap per session %d B, per desktop %d B (uptime load %.2f)%n",
                    perSession, perDesktop, ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            md.append("| state | heap per entry (bytes, after GC) | target |\n|---|---|---|\n");
            md.append(String.format(Locale.ROOT, "| session (sessions + user-sessions entries, SessionStore "
                    + "indexes) | %d | <= 2048 |%n", perSession));
            md.append(String.format(Locale.ROOT, "| desktop (desktops cache entry, DesktopService indexes) | %d |"
                    + " <= 2048 |%n%n", perDesktop));
            desktops.clear();

            // the walk a pool-manager tick makes: every desktop of every pool, read through the cache
            // (DesktopService.ofPool, then a look at each desktop's state); 100,000 desktops, 1,000 hypervisors
            int pools = 100;
            for (int i = 0; i < TICK_DESKTOPS; i++) {
                String id = UUID.randomUUID().toString();
                String pool = "p" + (i % pools);
                desktops.put(id, new DesktopState(id, pool, "hv-" + (i % 1000), pool + "-" + i, "vm-" + id,
                        i % 10 == 0 ? DesktopStatus.READY : DesktopStatus.ASSIGNED, null, null, null, 1, null, 0, now,
                        1));
            }
            long[] walks = new long[7];
            long seen = 0;
            for (int w = 0; w < walks.length; w++) {
                long t0 = System.nanoTime();
                for (int p = 0; p < pools; p++) {
                    for (DesktopState d : desktopService.ofPool("p" + p)) {
                        seen += d.status().ordinal();
                    }
                }
                walks[w] = System.nanoTime() - t0;
            }
            Arrays.sort(walks);
            double walkMs = walks[walks.length / 2] / 1e6;
            report.put("tickWalkMillis", walkMs);
            System.out.printf(Locale.ROOT, "[bench] tick walk over %d desktops: %.1f ms (median of %d, %d)%n",
                    TICK_DESKTOPS, walkMs, walks.length, seen % 2);
            md.append(String.format(Locale.ROOT, "Pool-manager walk of %d desktops in %d pools over 1,000 hypervisors"
                    + " (DesktopService.ofPool of every pool, median of %d): %.1f ms, %.1f %% of the default 1 s"
                    + " interval (target <= 10 %%). Not the whole tick: see benchmarks.md.%n%n", TICK_DESKTOPS, pools,
                    walks.length, walkMs, walkMs / 10));
            desktops.clear();

            // queue views: the position of users spread over the queue, walking it (SessionStore.queue, what
            // queuePosition did before) and from the ordered index (SessionStore.waitingAhead, what it does now)
            md.append("| queued users | position by walking the queue (µs per view) | position from the index "
                    + "(µs per view) | positions agree |\n|---|---|---|---|\n");
            List<Map<String, Object>> queues = new ArrayList<>();
            for (int n : QUEUES) {
                String pool = "q" + n;
                List<SessionState> waiting = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    SessionState s = session(pool, "u" + i, SessionStatus.QUEUED, i + 1, now);
                    sessions.put(s.id(), s);
                    waiting.add(s);
                }
                int samples = Math.max(5, Math.min(500, 2_000_000 / n));
                SessionState[] probes = new SessionState[samples];
                for (int i = 0; i < samples; i++) {
                    probes[i] = waiting.get((int) ((long) i * (n - 1) / Math.max(1, samples - 1)));
                }
                boolean agree = true;
                for (SessionState p : probes) { // warm-up, and both answers must be equal
                    agree &= walk(store, p) == store.waitingAhead(p);
                }
                long t0 = System.nanoTime();
                long sink = 0;
                for (SessionState p : probes) {
                    sink += walk(store, p);
                }
                double walkMicros = (System.nanoTime() - t0) / 1000.0 / samples;
                int reps = 200;
                t0 = System.nanoTime();
                for (int r = 0; r < reps; r++) {
                    for (SessionState p : probes) {
                        sink += store.waitingAhead(p);
                    }
                }
                double indexMicros = (System.nanoTime() - t0) / 1000.0 / samples / reps;
                System.out.printf(Locale.ROOT, "[bench] queue %d: walk %.1f µs, index %.3f µs per view, agree %s"
                        + " (%d)%n", n, walkMicros, indexMicros, agree, sink % 2);
                md.append(String.format(Locale.ROOT, "| %d | %.1f | %.3f | %s |%n", n, walkMicros, indexMicros,
                        agree));
                Map<String, Object> q = new LinkedHashMap<>();
                q.put("queued", n);
                q.put("walkMicrosPerView", walkMicros);
                q.put("indexMicrosPerView", indexMicros);
                q.put("agree", agree);
                queues.add(q);
                if (!agree) {
                    report.note("queue of " + n + ": the index and the walk disagree on a position");
                }
            }
            report.put("queueViews", queues);
            report.markdown(md.toString());
            report.note("the pool-manager figure is the walk through the cache only, not reconcile or hypervisor"
                    + " calls (those need the whole broker; see benchmarks.md)");
        }
        Path file = report.write(Path.of("target", "bench"));
        System.out.println("[bench] wrote " + file);
    }

    /** How many wait ahead, as DesktopRequestService.queuePosition counted before the index: a walk of the queue. */
    private static int walk(SessionStore store, SessionState session) {
        int ahead = 0;
        for (SessionState other : store.queue(session.poolId())) {
            if (other.queueTicket() < session.queueTicket()) {
                ahead++;
            }
        }
        return ahead;
    }

    private static SessionState session(String pool, String user, SessionStatus status, long ticket, Instant now) {
        // a subject as Keycloak makes them (a UUID), so the heap figure includes it
        return new SessionState(UUID.randomUUID().toString(), pool, UUID.randomUUID().toString(), user, status,
                status == SessionStatus.QUEUED ? null : UUID.randomUUID().toString(), "rdp", ticket, now, now, now,
                null, null, 1);
    }

    /**
     * A real broker bean on this cache manager, outside CDI: its injected manager is set, then its init runs (which
     * attaches its indexes). Only the cache-reading methods are used; the other injected beans stay null.
     */
    private static <T> T attached(T bean, EmbeddedCacheManager manager) throws Exception {
        Field field = bean.getClass().getDeclaredField("manager");
        field.setAccessible(true);
        field.set(bean, manager);
        Method init = bean.getClass().getDeclaredMethod("init");
        init.setAccessible(true);
        init.invoke(bean);
        return bean;
    }

    private static long retainedHeap() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
