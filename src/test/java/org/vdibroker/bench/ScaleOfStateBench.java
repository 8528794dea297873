package org.vdibroker.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
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
import org.vdibroker.hypervisor.simulator.SimulatorControl;
import org.vdibroker.pool.Pool;
import org.vdibroker.pool.PoolEntity;
import org.vdibroker.pool.SpareSchedule;
import org.vdibroker.protocol.ConnectionSettings;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;
import org.vdibroker.session.SessionStore;

/**
 * Benchmark 4, scale of state (in-process, one JVM, no HTTP): heap per 10,000 sessions and per 10,000 desktops, the
 * pool manager's walk over 100,000 desktops, and the cost of a queued user's position at 1k/10k/100k queued users.
 * Entries are the broker's own cache values (SessionState, DesktopState) in a cache manager built from the broker's
 * infinispan-local.xml; the sessions go through the real SessionStore, whose listeners keep its node-local indexes (by
 * user, queued by pool, by status). Heap is read from the MemoryMXBean after System.gc() (retained heap of the whole
 * JVM before and after, divided by the count). Writes target/bench/scale-of-state.{json,md}.
 */
public final class ScaleOfStateBench {

    private static final int HEAP_COUNT = Integer.getInteger("bench.scale.heap-count", 10_000);
    private static final int TICK_DESKTOPS = Integer.getInteger("bench.scale.tick-desktops", 100_000);
    private static final int[] QUEUES = Arrays.stream(System.getProperty("bench.scale.queues", "1000,10000,100000")
            .split(",")).mapToInt(Integer::parseInt).toArray();

    private static boolean steadyStateHeld;
    /** Ticks of one reconcile-interval at the defaults (30 s / 1 s), and two more. */
    private static final int ROUND_TICKS = 32;

    public static void main(String[] args) throws Exception {
        BenchReport report = new BenchReport("scale-of-state", "Benchmark 4: scale of state");
        report.setting("heapCount", HEAP_COUNT);
        report.setting("queues", Arrays.toString(QUEUES));
        report.setting("infinispan", "infinispan-local.xml");
        ConfigurationBuilderHolder holder = new ParserRegistry()
                .parse(ScaleOfStateBench.class.getClassLoader().getResource("infinispan-local.xml"));
        try (EmbeddedCacheManager manager = new DefaultCacheManager(holder, true)) {
            // the broker's beans wired outside CDI: their node-local indexes are part of what the heap figures count
            PoolTickHarness harness = new PoolTickHarness(manager, Map.of(
                    "broker.pool-manager.sweep-every", "1"));
            SessionStore store = harness.sessions;
            DesktopService desktopService = harness.desktops;
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
            // a queued session is also in the queue's two orders (by ticket, counted, and by when its user last asked)
            before = retainedHeap();
            List<String> queued = new ArrayList<>(HEAP_COUNT); // the ids, which the sessions hold anyway
            for (int i = 0; i < HEAP_COUNT; i++) {
                SessionState s = session("heap-queue", "queued-" + i, SessionStatus.QUEUED, i + 1, now.plusMillis(i));
                sessions.put(s.id(), s);
                userSessions.put("heap-queue|" + s.subject(), s.id());
                queued.add(s.id());
            }
            long perQueuedSession = (retainedHeap() - before) / HEAP_COUNT;
            for (String id : queued) {
                userSessions.remove("heap-queue|" + sessions.remove(id).subject());
            }
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
            removeAll(desktops);
            // a verified token held by security/VerifiedTokens (one per signed-in client, per node)
            before = retainedHeap();
            Object held = org.vdibroker.security.TokenCacheHeap.fill(HEAP_COUNT);
            long perToken = (retainedHeap() - before) / HEAP_COUNT;
            java.lang.ref.Reference.reachabilityFence(held);
            report.put("heapBytesPerSession", perSession);
            report.put("heapBytesPerQueuedSession", perQueuedSession);
            report.put("heapBytesPerDesktop", perDesktop);
            report.put("heapBytesPerVerifiedToken", perToken);
            System.out.printf(Locale.ROOT, "[bench] heap per session %d B (queued %d B), per desktop %d B, per verified"
                    + " token %d B (uptime load %.2f)%n", perSession, perQueuedSession, perDesktop, perToken,
                    ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            md.append("| state | heap per entry (bytes, after GC) | target |\n|---|---|---|\n");
            md.append(String.format(Locale.ROOT, "| session (sessions + user-sessions entries, SessionStore "
                    + "indexes) | %d | <= 2048 |%n", perSession));
            md.append(String.format(Locale.ROOT, "| queued session (the same, and the queue's two orders) | %d |"
                    + " <= 2048 |%n", perQueuedSession));
            md.append(String.format(Locale.ROOT, "| desktop (desktops cache entry, DesktopService indexes) | %d |"
                    + " <= 2048 |%n", perDesktop));
            md.append(String.format(Locale.ROOT, "| verified token (VerifiedTokens entry: a Keycloak-shaped token and"
                    + " the identity OIDC built from it) | %d | (none; bounded by broker.token-cache.size) |%n%n",
                    perToken));

            // the walk a pool-manager tick made before this issue: every desktop of every pool, read through the cache
            // (DesktopService.ofPool), then whole ticks (PoolManager.tickHere) over the same steady state
            int pools = 100;
            int hypervisorCount = 1000;
            Steady steady = steadyState(harness, pools, hypervisorCount, now);
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
            double walkMs = median(walks);
            report.put("tickWalkMillis", walkMs);
            System.out.printf(Locale.ROOT, "[bench] walk over %d desktops: %.1f ms (median of %d, %d)%n",
                    TICK_DESKTOPS, walkMs, walks.length, seen % 2);

            // whole ticks, every pool read in full and its indexes corrected each tick (sweep-every 1)
            // a node's first reconcile-interval: the pools' first rounds start a share per tick (30 ticks of 1 s per
            // 30 s interval), so warm up over one interval (without full reads but each pool's first) before timing
            harness.reconfigure(Map.of("broker.pool-manager.sweep-every", "1000000"));
            for (int t = 0; t < ROUND_TICKS; t++) {
                harness.tick();
            }
            harness.reconfigure(Map.of("broker.pool-manager.sweep-every", "1"));
            long[] swept = new long[7];
            for (int t = 0; t < swept.length; t++) {
                swept[t] = harness.tick();
            }
            // whole ticks from the indexes, each pool read in full every 30th tick (staggered)
            int every = 30;
            harness.reconfigure(Map.of("broker.pool-manager.sweep-every", String.valueOf(every)));
            harness.tick();
            long[] indexed = new long[every];
            for (int t = 0; t < indexed.length; t++) {
                indexed[t] = harness.tick();
            }
            // the indexed path alone, no pool read in full (what the sweeps add is the difference)
            harness.reconfigure(Map.of("broker.pool-manager.sweep-every", "1000000"));
            long[] unswept = new long[15];
            for (int t = 0; t < unswept.length; t++) {
                unswept[t] = harness.tick();
            }
            double unsweptMs = median(unswept);
            report.put("tickWithoutSweepsMillis", unsweptMs);
            // the ticks of one reconcile-interval (30 s by default) as a node that just started: every pool's round
            // starts in it, a share of the pools per tick (before this issue all of them on the first tick)
            harness.forgetReconcileRounds();
            long[] roundTicks = new long[ROUND_TICKS];
            for (int t = 0; t < roundTicks.length; t++) {
                roundTicks[t] = harness.tick();
            }
            long roundTick = Arrays.stream(roundTicks).max().orElse(0);
            double roundMeanMs = Arrays.stream(roundTicks).average().orElse(0) / 1e6;
            report.put("tickReconcileRoundMeanMillis", roundMeanMs);
            String broken = steady.check(harness);
            steadyStateHeld = broken == null;
            if (broken != null) {
                report.note("FAILED: the steady state did not hold: " + broken);
            }
            double sweptMs = median(swept);
            double indexedMs = median(indexed);
            double indexedMeanMs = Arrays.stream(indexed).average().orElse(0) / 1e6;
            double indexedMaxMs = Arrays.stream(indexed).max().orElse(0) / 1e6;
            double roundMs = roundTick / 1e6;
            double intervalMs = 1000;
            report.put("tickSweptMillis", sweptMs);
            report.put("tickIndexedMillis", indexedMs);
            report.put("tickIndexedMeanMillis", indexedMeanMs);
            report.put("tickIndexedMaxMillis", indexedMaxMs);
            report.put("tickReconcileRoundMillis", roundMs);
            report.put("tickSteadyStateHeld", broken == null);
            System.out.printf(Locale.ROOT, "[bench] whole tick over %d desktops: sweep-every 1 %.1f ms, sweep-every 30"
                    + " %.1f ms (mean %.1f, max %.1f), no sweeps %.1f ms, reconcile-round ticks max %.1f ms, steady"
                    + " state %s%n",
                    TICK_DESKTOPS, sweptMs, indexedMs, indexedMeanMs, indexedMaxMs, unsweptMs, roundMs,
                    broken == null ? "held" : broken);
            md.append(String.format(Locale.ROOT, "Pool manager over %d desktops in %d pools on %d simulator "
                    + "hypervisors (%s), %% of the default 1 s interval (target <= 10 %%):%n%n", TICK_DESKTOPS, pools,
                    hypervisorCount, steady.describe()));
            md.append("| what | ms | % of interval |\n|---|---|---|\n");
            md.append(row("walk only: DesktopService.ofPool of every pool (median of 7)", walkMs, intervalMs));
            md.append(row("whole tick, every pool read in full and re-indexed each tick (sweep-every 1, median of 7)",
                    sweptMs,
                    intervalMs));
            md.append(row("whole tick, default: full read every 30th tick per pool, staggered (median of 30)",
                    indexedMs, intervalMs));
            md.append(row("  same, mean of 30 / max of 30", indexedMeanMs, intervalMs).replace("| " + fmt(
                    indexedMeanMs), "| " + fmt(indexedMeanMs) + " / " + fmt(indexedMaxMs)));
            md.append(row("whole tick without any full read (sweep-every 1,000,000, median of 15)", unsweptMs,
                    intervalMs));
            md.append(row("ticks of a node's first reconcile-interval, every pool's round started in it (max of "
                    + ROUND_TICKS + ")", roundMs, intervalMs));
            md.append(row("  same, mean of " + ROUND_TICKS, roundMeanMs, intervalMs));
            md.append(String.format(Locale.ROOT, "%nSteady state held over all ticks (no audit record, no desktop "
                    + "changed state): %s.%n%n", broken == null ? "yes" : "no: " + broken));
            removeAll(desktops);
            removeAll(sessions);
            removeAll(userSessions);

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
            report.note("pool-manager ticks run the broker's beans wired outside CDI against simulator drivers;"
                    + " the database-backed catalog, registry, inventory and audit log are stand-ins (see"
                    + " PoolTickHarness)");
        }
        Path file = report.write(Path.of("target", "bench"));
        System.out.println("[bench] wrote " + file);
        // the hypervisor guards' executor threads would keep the JVM alive; a broken steady state voids the figures
        System.exit(steadyStateHeld ? 0 : 1);
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

    /** What the pools hold in the tick benchmark's steady state, and how to tell it still holds. */
    private record Steady(int ready, int assigned, int queued, int disconnected, int recentClaims) {

        String describe() {
            return String.format(Locale.ROOT, "steady state: %,d READY, %,d ASSIGNED of which %,d claimed in the last"
                    + " 10 minutes (the orphan check reads them), %,d sessions DISCONNECTED in the 50 pools with a"
                    + " disconnect timeout, %,d users queued in the 10 full pools", ready, assigned, recentClaims,
                    disconnected, queued);
        }

        /** Null if nothing changed: no audit record, the same counts of READY and ASSIGNED, the same queue. */
        String check(PoolTickHarness harness) {
            if (harness.audited.get() > 0) {
                return harness.audited.get() + " audit records";
            }
            int r = 0;
            int a = 0;
            int q = 0;
            for (int p = 0; p < 100; p++) {
                for (DesktopState d : harness.desktops.ofPool("p" + p)) {
                    r += d.status() == DesktopStatus.READY ? 1 : 0;
                    a += d.status() == DesktopStatus.ASSIGNED ? 1 : 0;
                }
                q += harness.sessions.queueLength("p" + p);
            }
            return r == ready && a == assigned && q == queued ? null
                    : String.format(Locale.ROOT, "READY %d, ASSIGNED %d, queued %d", r, a, q);
        }
    }

    /**
     * 100,000 desktops in 100 floating pools of 1,000 (min = max = 1,000), each pool on 10 of the 1,000 simulator
     * hypervisors, each desktop with its VM on its simulator host. 90 pools keep 100 spares READY, the other 900
     * ASSIGNED to a session; 10 pools are full (all ASSIGNED) with 100 users queued each. 1 % of the claims are recent
     * (the orphan check looks at them), the other claims an hour old; half the pools have a disconnect timeout and 1 %
     * of their sessions are DISCONNECTED (not yet expired). Nothing in it is due: a tick should change nothing.
     */
    private static Steady steadyState(PoolTickHarness harness, int pools, int hypervisorCount, Instant now) {
        for (int h = 0; h < hypervisorCount; h++) {
            harness.addHypervisor("hv-" + h);
        }
        Cache<String, DesktopState> desktops = harness.manager.getCache(CacheNames.DESKTOPS);
        Cache<String, SessionState> sessions = harness.manager.getCache(CacheNames.SESSIONS);
        Cache<String, String> userSessions = harness.manager.getCache(CacheNames.USER_SESSIONS);
        SimulatorControl simulator = new SimulatorControl(harness.manager, Clock.systemUTC());
        int ready = 0;
        int assigned = 0;
        int disconnected = 0;
        int recent = 0;
        for (int i = 0; i < TICK_DESKTOPS; i++) {
            int p = i % pools;
            int n = i / pools;
            String pool = "p" + p;
            String hv = "hv-" + (i % hypervisorCount);
            String name = String.format(Locale.ROOT, "%s-%08x", pool, i);
            String vmRef = simulator.createVm(hv, name);
            String id = UUID.randomUUID().toString();
            boolean full = p < 10;
            if (!full && n % 10 == 0) {
                desktops.put(id, new DesktopState(id, pool, hv, name, vmRef, DesktopStatus.READY, null, null, null, 1,
                        null, 0, now.minusSeconds(3600), 1));
                ready++;
                continue;
            }
            boolean claimedLately = n % 100 == 1;
            boolean gone = p % 2 == 0 && n % 100 == 2;
            Instant changed = claimedLately || gone ? now.minusSeconds(300) : now.minusSeconds(3600);
            String sessionId = UUID.randomUUID().toString();
            String user = "user-" + i;
            SessionState session = new SessionState(sessionId, pool, "sub-" + user, user,
                    gone ? SessionStatus.DISCONNECTED : SessionStatus.READY, id, "rdp", i + 1, changed, changed,
                    changed, null, null, 1);
            sessions.put(sessionId, session);
            userSessions.put(pool + "|" + session.subject(), sessionId);
            desktops.put(id, new DesktopState(id, pool, hv, name, vmRef, DesktopStatus.ASSIGNED, sessionId, null, null,
                    1, null, 0, changed, 1));
            assigned++;
            recent += claimedLately ? 1 : 0;
            disconnected += gone ? 1 : 0;
        }
        int queued = 0;
        for (int p = 0; p < 10; p++) {
            for (int u = 0; u < 100; u++) {
                SessionState waiting = new SessionState(UUID.randomUUID().toString(), "p" + p, "sub-waiting-" + u,
                        "waiting-" + u, SessionStatus.QUEUED, null, "rdp", TICK_DESKTOPS + u + 1L, now, now, now,
                        null, null, 1);
                sessions.put(waiting.id(), waiting);
                userSessions.put(waiting.poolId() + "|" + waiting.subject(), waiting.id());
                queued++;
            }
        }
        for (int p = 0; p < pools; p++) {
            List<Pool.Template> templates = new ArrayList<>();
            for (int h = p; h < hypervisorCount; h += pools) {
                templates.add(new Pool.Template("hv-" + h, "template", 1));
            }
            harness.addPool(new Pool("p" + p, "Pool " + p, PoolEntity.Assignment.FLOATING, 1000, p < 10 ? 0 : 100,
                    1000, List.of("rdp"), 2, 2048, 0, p % 2 == 0 ? 3600 : 0, true, "UTC", true, templates,
                    Set.of("/all"), Set.of(), SpareSchedule.NONE, false, PoolEntity.UnknownVms.IGNORE,
                    ConnectionSettings.NONE));
        }
        return new Steady(ready, assigned, queued, disconnected, recent);
    }

    private static double median(long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2] / 1e6;
    }

    private static String fmt(double ms) {
        return String.format(Locale.ROOT, "%.1f", ms);
    }

    private static String row(String what, double ms, double intervalMs) {
        return String.format(Locale.ROOT, "| %s | %s | %.1f %% |%n", what, fmt(ms), ms * 100 / intervalMs);
    }

    /** Removes every entry one by one, so the node-local indexes see each removal (a clear() fires no events). */
    private static void removeAll(Cache<String, ?> cache) {
        for (String key : List.copyOf(cache.keySet())) {
            cache.remove(key);
        }
    }

    private static long retainedHeap() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
