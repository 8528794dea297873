package org.vdibroker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.vdibroker.bench.LoadGenerator.Request;
import org.vdibroker.cluster.ClusterMarshaller;
import org.vdibroker.cluster.ClusterNodes;
import org.vdibroker.testsupport.KeycloakServer;

/**
 * Benchmark 1 (warm assignment) and the one-node ratios, in one run: see {@code src/site/markdown/benchmarks.md}.
 * Starts an embedded PostgreSQL, the real Keycloak (realm {@code vdi} plus the benchmark's signing key) and broker
 * nodes from the packaged jar, all on 127.0.0.1; this JVM is the load generator. Everything it started stops at the
 * end. Settings are system properties ({@code bench.*}, see {@link Settings}).
 */
public final class WarmAssignmentBench {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final String POOL = "bench";
    static final Set<String> GROUPS = Set.of("/engineering");
    /** The broker nodes running now, stopped by a shutdown hook too when the benchmark is interrupted. */
    private static volatile ClusterNodes running;

    /** What to run, from system properties. */
    record Settings(int desktops, int nodes, List<Integer> clients, Duration maxPerLevel, int warmup,
            Duration warmupMax, int oneNodeDesktops, int oneNodeWarmup, int oneNodeClients, Duration oneNodeSeconds,
            Duration provisionTimeout, boolean oneNode, Duration openDuration, Duration idle, Path out) {

        static Settings fromSystemProperties() {
            int desktops = Integer.getInteger("bench.desktops", 10_000);
            int warmup = Integer.getInteger("bench.warmup", Math.min(3000, desktops / 3));
            int oneNodeDesktops = Integer.getInteger("bench.one-node.desktops", Math.max(100, desktops / 2));
            return new Settings(desktops, Integer.getInteger("bench.nodes", 3),
                    Arrays.stream(System.getProperty("bench.clients", "16,64,256").split(","))
                            .map(String::trim).map(Integer::parseInt).toList(),
                    Duration.ofSeconds(Long.getLong("bench.level.max-seconds", 120)),
                    warmup,
                    Duration.ofSeconds(Long.getLong("bench.warmup.max-seconds", 900)),
                    oneNodeDesktops,
                    Integer.getInteger("bench.one-node.warmup", Math.min(warmup, oneNodeDesktops / 2)),
                    Integer.getInteger("bench.one-node.clients", 32),
                    Duration.ofSeconds(Long.getLong("bench.one-node.seconds", 10)),
                    Duration.ofSeconds(Long.getLong("bench.provision.timeout-seconds", 1200)),
                    Boolean.parseBoolean(System.getProperty("bench.one-node", "true")),
                    Duration.ofSeconds(Long.getLong("bench.open.seconds", 10)),
                    Duration.ofSeconds(Long.getLong("bench.idle-seconds", 10)),
                    Path.of(System.getProperty("bench.out", "target/bench")));
        }
    }

    public static void main(String[] args) throws Exception {
        Settings settings = Settings.fromSystemProperties();
        BenchReport report = new BenchReport("warm-assignment", "Benchmark 1: warm assignment");
        report.setting("desktops", settings.desktops());
        report.setting("nodes", settings.nodes());
        report.setting("clients", settings.clients());
        report.setting("warmup", settings.warmup());
        // what the broker's nodes and the raw ceiling's cluster write (ClusterMarshaller)
        report.setting("marshalling", ClusterMarshaller.Format.configured().setting());
        if (Boolean.getBoolean("bench.baselines-only")) { // develops the two baselines without Keycloak and nodes
            try (EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setServerConfig("listen_addresses", "127.0.0.1").start()) {
                List<long[]> levels = settings.clients().stream()
                        .map(c -> new long[] {c, settings.desktops() / settings.clients().size()}).toList();
                rawCeiling(settings, levels, report);
                skipLocked(settings, postgres, levels, report);
            }
            report.write(settings.out());
            System.exit(0);
        }
        report.runAndExit(settings.out(), () -> {
            try (EmbeddedPostgres postgres = EmbeddedPostgres.builder()
                    .setServerConfig("listen_addresses", "127.0.0.1")
                    .setServerConfig("max_connections", "300").start()) {
                BenchTokens tokens = BenchTokens.withKeycloak(settings.out());
                // -Dbench.three-node=false: the one-node ratios alone (e.g. to profile one node)
                long violations = Boolean.parseBoolean(System.getProperty("bench.three-node", "true"))
                        ? clusterRun(settings, postgres, tokens, report) : 0;
                if (settings.oneNode()) {
                    violations += oneNodeRun(settings, postgres, tokens, report);
                }
                return violations;
            }
        });
    }

    /** Benchmark 1 proper: the broker on N nodes, then the raw ceiling and SKIP LOCKED with the same counts. */
    private static long clusterRun(Settings settings, EmbeddedPostgres postgres, BenchTokens tokens,
            BenchReport report) throws Exception {
        String jdbc = database(postgres, "bench_cluster");
        String admin = tokens.admin("bench-admin", 7200);
        List<long[]> levels = new ArrayList<>(); // {clients, requests}
        long violations;
        try (ClusterNodes cluster = started(ClusterNodes.start("bench-warm", settings.nodes(), jdbc, 14000, 17000,
                nodeProperties()))) {
            cluster.awaitMembers(settings.nodes(), Duration.ofSeconds(600));
            URI first = URI.create(cluster.node(1).baseUri());
            // the warm-up's desktops on top: the measured levels start with bench.desktops ready ones
            int poolSize = settings.desktops() + settings.warmup();
            definePool(first, admin, poolSize);
            awaitReady(first, tokens, admin, poolSize, settings.provisionTimeout());

            List<URI> nodes = cluster.nodes().stream().map(n -> URI.create(n.baseUri())).toList();
            Map<String, String> desktopOf = new ConcurrentHashMap<>();
            Set<String> notWarm = ConcurrentHashMap.newKeySet();
            int maxClients = settings.clients().stream().mapToInt(Integer::intValue).max().orElse(16);
            List<ProcessHandle> brokers = cluster.nodes().stream().map(n -> n.process().toHandle()).toList();
            OptionalDouble idleCores = idleCpu(brokers, settings.idle());
            long brokerCpuBefore = 0;
            long assignments = 0;
            try (LoadGenerator load = new LoadGenerator(nodes, maxClients)) {
                // not reported: connections, and the JIT, which compiled for a good part of the nodes' CPU in the
                // first levels with a warm-up of 500 assignments (JFR, 2026-12-05)
                assign(load, tokens, "warmup", Math.min(32, maxClients), settings.warmup(), settings.warmupMax(),
                        desktopOf, notWarm);
                brokerCpuBefore = CpuTime.nanos(brokers);
                // 60 % of the pool for the closed levels, 2 x 17 % for the open-loop runs: none runs out of desktops
                long perLevel = (long) (settings.desktops() * 0.6 / settings.clients().size());
                double saturation = 0;
                for (int clients : settings.clients()) {
                    LoadGenerator.Result result = assign(load, tokens, "c" + clients, clients, perLevel,
                            settings.maxPerLevel(), desktopOf, notWarm);
                    report.add("broker", result);
                    levels.add(new long[] {clients, result.requests()});
                    saturation = Math.max(saturation, result.throughput());
                    assignments += result.requests();
                }
                cpuPerRequest(report, CpuTime.nanos(brokers) - brokerCpuBefore, assignments, idleCores);
                // open loop at 50 % and 80 % of the best closed-loop throughput: latency from each due time
                report.put("saturationPerSecond", saturation);
                long openUsers = (long) (settings.desktops() * 0.17);
                for (double share : new double[] {0.5, 0.8}) {
                    double rate = Math.max(1, saturation * share);
                    long percent = Math.round(share * 100);
                    String prefix = "open" + percent;
                    String[] userTokens = tokens.users("bench-" + prefix + "-", (int) openUsers, GROUPS, 7200);
                    LoadGenerator.Result open = load.openLoop("warm assignment at " + percent + " % of saturation",
                            rate, openUsers, settings.openDuration(),
                            i -> Request.post("/api/v1/me/pools/" + POOL + "/desktop", userTokens[(int) i],
                                    "{\"protocol\":\"rdp\"}"),
                            (i, response) -> record("bench-" + prefix + "-" + i, response, desktopOf, notWarm));
                    report.add("broker-open", open);
                    // by the second: whether the p99 is a pause or two or spread over the run
                    report.put("openLoop" + percent + "ByDueSecond", open.byDueSecond().summary());
                    report.markdown(open.byDueSecond().markdown("Open loop at " + percent + " % of saturation", 1));
                }
            }
            violations = invariants(first, admin, poolSize, desktopOf, notWarm, report);
        }
        violations += rawCeiling(settings, levels, report);
        violations += skipLocked(settings, postgres, levels, report);
        return violations;
    }

    static LoadGenerator.Result assign(LoadGenerator load, BenchTokens tokens, String prefix, int clients,
            long users, Duration max, Map<String, String> desktopOf, Set<String> notWarm) {
        return assign(load, tokens.users("bench-" + prefix + "-", (int) users, GROUPS, 7200), prefix,
                "warm assignment", clients, max, desktopOf, notWarm);
    }

    /** Warm assignments of the users whose tokens are {@code userTokens}, each asking once. */
    private static LoadGenerator.Result assign(LoadGenerator load, String[] userTokens, String prefix, String name,
            int clients, Duration max, Map<String, String> desktopOf, Set<String> notWarm) {
        long users = userTokens.length;
        return load.closedLoop(name, clients, users, max,
                i -> Request.post("/api/v1/me/pools/" + POOL + "/desktop", userTokens[(int) i],
                        "{\"protocol\":\"rdp\"}"),
                (i, response) -> record("bench-" + prefix + "-" + i, response, desktopOf, notWarm));
    }

    /**
     * The nodes' CPU with the pool ready and no request (pool manager ticks, cluster heartbeats, outbox), in cores
     * summed over the nodes: the share of the per-request CPU that is background rather than requests.
     */
    private static OptionalDouble idleCpu(List<ProcessHandle> brokers, Duration window)
            throws InterruptedException {
        if (window.isZero()) {
            return OptionalDouble.empty(); // not measured
        }
        long before = CpuTime.nanos(brokers);
        long start = System.nanoTime();
        Thread.sleep(window.toMillis());
        return OptionalDouble.of((double) (CpuTime.nanos(brokers) - before) / (System.nanoTime() - start));
    }

    /**
     * Benchmark 3 in the same run: the brokers' CPU time (all nodes, everything they did meanwhile, so an upper bound)
     * per desktop request of the closed levels, against Keycloak's CPU time per password login (grant of the
     * realm's vdi-client for its users demo, alice and bob, a few at a time).
     */
    private static void cpuPerRequest(BenchReport report, long brokerCpuNanos, long requests,
            OptionalDouble idleCores) {
        int logins = Integer.getInteger("bench.keycloak.logins", 300);
        List<ProcessHandle> keycloak = CpuTime.keycloak();
        long before = CpuTime.nanos(keycloak);
        long start = System.nanoTime();
        String[] users = {"demo", "alice", "bob"}; // the realm's users, password = name
        java.util.stream.IntStream.range(0, logins).parallel()
                .forEach(i -> KeycloakServer.passwordGrant("vdi-client", users[i % 3], users[i % 3]));
        double seconds = (System.nanoTime() - start) / 1e9;
        long keycloakCpuNanos = CpuTime.nanos(keycloak) - before;
        double brokerMs = brokerCpuNanos / 1e6 / Math.max(1, requests);
        double keycloakMs = keycloakCpuNanos / 1e6 / logins;
        Map<String, Object> cpu = new LinkedHashMap<>();
        cpu.put("brokerCpuMsPerDesktopRequest", brokerMs);
        cpu.put("desktopRequests", requests);
        cpu.put("keycloakCpuMsPerPasswordLogin", keycloakMs);
        cpu.put("passwordLogins", logins);
        cpu.put("passwordLoginsPerSecond", logins / seconds);
        idleCores.ifPresent(cores -> cpu.put("brokerIdleCores", cores));
        report.put("cpu", cpu);
        report.ratio("broker CPU per desktop request / Keycloak CPU per password login", brokerMs / keycloakMs);
        report.markdown(String.format(java.util.Locale.ROOT, "CPU (benchmark 3): broker %.2f ms per desktop request"
                + " (all nodes, %d requests); Keycloak %.2f ms per password login (%d logins).%s", brokerMs, requests,
                keycloakMs, logins, idleCores.isEmpty() ? "" : String.format(java.util.Locale.ROOT, " With the pool"
                + " ready and no request the nodes used %.2f cores together.", idleCores.getAsDouble())));
    }

    /** Remembers which desktop a user was given (200) or that the request was queued (202), for the invariants. */
    static void record(String user, io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer> response,
            Map<String, String> desktopOf, Set<String> notWarm) {
        if (response.statusCode() == 200) {
            desktopOf.put(user, readJson(response.bodyAsString()).path("desktopId").asText());
        } else if (response.statusCode() == 202) {
            notWarm.add(user);
        }
    }

    /**
     * After the run, from the broker's admin API: every desktop held by at most one session, every user at most one
     * session in the pool, ready + held = pool size, and what the users were told matches what the broker holds.
     */
    static long invariants(URI node, String admin, int size, Map<String, String> desktopOf,
            Set<String> notWarm, BenchReport report) {
        JsonNode sessions = get(node, "/api/v1/admin/sessions?pool=" + POOL, admin);
        JsonNode desktops = get(node, "/api/v1/admin/pools/" + POOL + "/desktops", admin);
        List<String> problems = new ArrayList<>();
        Map<String, String> sessionDesktop = new HashMap<>();
        Set<String> users = new HashSet<>();
        Set<String> heldDesktops = new HashSet<>();
        for (JsonNode session : sessions) {
            if (!users.add(session.path("user").asText())) {
                problems.add("user " + session.path("user").asText() + " has two sessions in the pool");
            }
            String desktop = session.path("desktopId").asText(null);
            if (desktop != null && !heldDesktops.add(desktop)) {
                problems.add("desktop " + desktop + " is held by two sessions");
            }
            sessionDesktop.put(session.path("id").asText(), desktop);
        }
        Map<String, Integer> byState = new LinkedHashMap<>();
        int ready = 0;
        int held = 0;
        for (JsonNode desktop : desktops) {
            String state = desktop.path("state").asText();
            byState.merge(state, 1, Integer::sum);
            if ("READY".equals(state)) {
                ready++;
            } else if (Set.of("ASSIGNED", "IN_USE", "DISCONNECTED").contains(state)) {
                held++;
                String session = desktop.path("sessionId").asText(null);
                if (session == null || !desktop.path("id").asText().equals(sessionDesktop.get(session))) {
                    problems.add("desktop " + desktop.path("id").asText() + " is " + state + " for session " + session
                            + ", which does not hold it");
                }
            }
        }
        if (ready + held != size) {
            problems.add("ready " + ready + " + held " + held + " != pool size " + size + " " + byState);
        }
        Map<String, String> told = new HashMap<>();
        desktopOf.forEach((user, desktop) -> {
            String earlier = told.put(desktop, user);
            if (earlier != null) {
                problems.add("desktop " + desktop + " was handed to " + earlier + " and " + user);
            }
        });
        if (sessions.size() != desktopOf.size() + notWarm.size()) {
            // not an invariant: a request whose answer was lost (time-out) may still have made its session
            report.note(sessions.size() + " live sessions, but " + desktopOf.size() + " users got a desktop and "
                    + notWarm.size() + " were queued (the others got no answer)");
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("sessions", sessions.size());
        summary.put("desktopsByState", byState);
        summary.put("usersServedWarm", desktopOf.size());
        summary.put("usersQueued", notWarm.size());
        summary.put("violations", problems.size());
        summary.put("firstViolations", problems.subList(0, Math.min(20, problems.size())));
        report.put("invariants", summary);
        if (!notWarm.isEmpty()) {
            report.note(notWarm.size() + " requests were queued (202) instead of served warm");
        }
        System.out.println("[bench] invariants: " + summary);
        return problems.size();
    }

    private static long rawCeiling(Settings settings, List<long[]> levels, BenchReport report) {
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < settings.nodes(); i++) {
            ports.add(freeClusterPort(ports));
        }
        try (RawCeiling raw = new RawCeiling(settings.nodes(), ports)) {
            long total = levels.stream().mapToLong(l -> l[1]).sum();
            List<String> ids = raw.seed(POOL, (int) total);
            int from = 0;
            List<LoadGenerator.Result> results = new ArrayList<>();
            for (long[] level : levels) {
                List<String> slice = ids.subList(from, from + (int) level[1]);
                from += (int) level[1];
                LoadGenerator.Result result = raw.claim("conditional replace", slice, (int) level[0],
                        settings.maxPerLevel());
                report.add("raw-infinispan", result);
                results.add(result);
            }
            long violations = raw.violations(ids.subList(0, from));
            report.put("rawViolations", violations);
            ratios(report, "broker/raw", levels, results);
            return violations;
        }
    }

    private static long skipLocked(Settings settings, EmbeddedPostgres postgres, List<long[]> levels,
            BenchReport report) throws Exception {
        String adminUrl = "jdbc:postgresql://127.0.0.1:" + postgres.getPort() + "/postgres";
        // the comparison: durable commits, as a broker keeping assignments in SQL must run
        long violations = skipLocked(settings, new SkipLockedDesign(adminUrl, "postgres", "bench_skip_locked", true),
                "skip-locked", "broker/skip-locked", levels, report);
        report.put("skipLockedViolations", violations);
        // a reference only: the same claims when a crash may lose the last commits
        long reference = skipLocked(settings,
                new SkipLockedDesign(adminUrl, "postgres", "bench_skip_locked_async", false),
                "skip-locked-async-commit", "broker/skip-locked with synchronous_commit off", levels, report);
        report.put("skipLockedAsyncCommitViolations", reference);
        return violations + reference;
    }

    private static long skipLocked(Settings settings, SkipLockedDesign design, String group, String ratio,
            List<long[]> levels, BenchReport report) throws Exception {
        design.seed(POOL, settings.desktops());
        List<LoadGenerator.Result> results = new ArrayList<>();
        for (int i = 0; i < levels.size(); i++) {
            long[] level = levels.get(i);
            // users of their own per level (a level may repeat a concurrency)
            LoadGenerator.Result result = design.claim(group.equals("skip-locked") ? "skip locked claim"
                    : "skip locked claim, synchronous_commit off", POOL, "db-" + i + "-c" + level[0] + "-", level[1],
                    (int) level[0], settings.maxPerLevel());
            report.add(group, result);
            results.add(result);
        }
        ratios(report, ratio, levels, results);
        return design.violations(settings.desktops());
    }

    /** broker throughput / other throughput per level, from the broker runs already in the report. */
    private static void ratios(BenchReport report, String key, List<long[]> levels,
            List<LoadGenerator.Result> other) {
        for (int i = 0; i < levels.size() && report.brokerRuns() > i; i++) {
            double broker = report.brokerThroughput(i);
            report.ratio(key + " at " + levels.get(i)[0] + " clients", broker / other.get(i).throughput());
        }
    }

    /**
     * The one-node ratios: /q/health/live (on the management port) vs an authenticated read vs warm assignments, on
     * one broker node.
     */
    /** Tokens minted for the one-node read that checks every token in full (it stops early if they run out). */
    private static final int FRESH_TOKENS = Integer.getInteger("bench.one-node.fresh-tokens", 30_000);

    private static long oneNodeRun(Settings settings, EmbeddedPostgres postgres, BenchTokens tokens,
            BenchReport report) throws Exception {
        String jdbc = database(postgres, "bench_one_node");
        String admin = tokens.admin("bench-admin", 7200);
        try (ClusterNodes cluster = started(ClusterNodes.start("bench-one", 1, jdbc, 14000, 17000,
                nodeProperties()))) {
            cluster.awaitMembers(1, Duration.ofSeconds(600));
            URI node = URI.create(cluster.node(1).baseUri());
            // as on three nodes: the warm-up's assignments come from desktops on top of the measured ones
            int warmup = settings.oneNodeWarmup();
            int poolSize = settings.oneNodeDesktops() + warmup;
            definePool(node, admin, poolSize);
            awaitReady(node, tokens, admin, poolSize, settings.provisionTimeout());
            int clients = settings.oneNodeClients();
            int users = 10_000;
            String[] readers = tokens.users("bench-reader-", users, GROUPS, 7200);
            // the same readers with tokens the node has not seen: every request is checked in full (signature,
            // claims), as without the token cache; minted now, before the node is measured
            String[] fresh = tokens.fresh("bench-reader-", users, FRESH_TOKENS, GROUPS, 7200);
            try (LoadGenerator load = new LoadGenerator(List.of(node), clients)) {
                // every reader's token once at least: the read below is answered from the token cache
                load.closedLoop("warm-up", clients, Math.max(2000, users), settings.oneNodeSeconds().multipliedBy(3),
                        i -> Request.get("/api/v1/me/pools", readers[(int) (i % users)]), null);
                LoadGenerator.Result health;
                // health answers on the node's management port only (its own HTTP server in the same JVM)
                try (LoadGenerator probe = new LoadGenerator(List.of(URI.create(cluster.node(1).managementUri())),
                        clients)) {
                    health = probe.closedLoop("GET /q/health/live", clients, Long.MAX_VALUE,
                            settings.oneNodeSeconds(), i -> Request.get("/q/health/live", null), null);
                }
                LoadGenerator.Result read = load.closedLoop("GET /api/v1/me/pools", clients, Long.MAX_VALUE,
                        settings.oneNodeSeconds(), i -> Request.get("/api/v1/me/pools", readers[(int) (i % users)]),
                        null);
                LoadGenerator.Result unseen = load.closedLoop("GET /api/v1/me/pools, a token not seen before",
                        clients, fresh.length, settings.oneNodeSeconds(),
                        i -> Request.get("/api/v1/me/pools", fresh[(int) i]), null);
                Map<String, String> desktopOf = new ConcurrentHashMap<>();
                Set<String> notWarm = ConcurrentHashMap.newKeySet();
                assign(load, tokens, "one-warmup", clients, warmup, settings.oneNodeSeconds().multipliedBy(3),
                        desktopOf, notWarm); // the assignment path's JIT, not reported
                long assigning = (long) (settings.oneNodeDesktops() * 0.45); // twice: 90 % of the pool
                LoadGenerator.Result assign = assign(load, tokens, "one", clients, assigning,
                        settings.oneNodeSeconds(), desktopOf, notWarm);
                // as a client does (it lists the pools, then asks for a desktop with the same token): the token has
                // been checked once before the request, like the read's; the like-for-like figure for the ratio
                String[] seen = tokens.users("bench-one-seen-", (int) assigning, GROUPS, 7200);
                load.closedLoop("pool lists of the next users", clients, seen.length,
                        settings.oneNodeSeconds().multipliedBy(3),
                        i -> Request.get("/api/v1/me/pools", seen[(int) i]), null);
                LoadGenerator.Result assignSeen = assign(load, seen, "one-seen",
                        "warm assignment, token seen before", clients, settings.oneNodeSeconds(), desktopOf,
                        notWarm);
                report.add("one-node", health);
                report.add("one-node", read);
                report.add("one-node", unseen);
                report.add("one-node", assign);
                report.add("one-node", assignSeen);
                report.ratio("one node: authenticated read / health", read.throughput() / health.throughput());
                report.ratio("one node: read with a token not seen before / read with a token checked before",
                        unseen.throughput() / read.throughput());
                report.ratio("one node: warm assignment / authenticated read",
                        assign.throughput() / read.throughput());
                report.ratio("one node: warm assignment with a token seen before / authenticated read",
                        assignSeen.throughput() / read.throughput());
                return invariantsOneNode(node, admin, poolSize, desktopOf, notWarm, report);
            }
        }
    }

    private static long invariantsOneNode(URI node, String admin, int size, Map<String, String> desktopOf,
            Set<String> notWarm, BenchReport report) {
        // same checks, kept under a key of their own
        BenchReport scratch = new BenchReport("unused", "unused");
        long violations = invariants(node, admin, size, desktopOf, notWarm, scratch);
        report.put("oneNodeViolations", violations);
        return violations;
    }

    /** Remembers the benchmark's nodes, which a shutdown hook stops too when the benchmark is interrupted. */
    static synchronized ClusterNodes started(ClusterNodes cluster) {
        if (running == null) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                ClusterNodes nodes = running;
                if (nodes != null) {
                    nodes.close();
                }
            }, "bench-nodes-stop"));
        }
        running = cluster;
        return cluster;
    }

    /** Simulator hypervisors with zero latencies and one floating pool of {@code size} desktops kept at size. */
    static void definePool(URI node, String admin, int size) {
        int hypervisors = Math.max(1, (size + 2499) / 2500);
        List<Map<String, Object>> templates = new ArrayList<>();
        for (int h = 1; h <= hypervisors; h++) {
            post(node, "/api/v1/admin/hypervisors", admin, Map.of("id", "bench-sim-" + h, "driver", "simulator",
                    "endpoint", "simulator://bench-" + h,
                    "config", Map.of("cloneLatencyMs", "0", "bootLatencyMs", "0"),
                    "capacity", Map.of("vcpus", size / hypervisors + 100, "memoryMb", (size / hypervisors + 100) * 512,
                            "maxDesktops", size / hypervisors + 100),
                    "concurrencyLimit", 500));
            templates.add(Map.of("hypervisorId", "bench-sim-" + h, "templateRef", "tmpl-bench"));
        }
        post(node, "/api/v1/admin/pools", admin, Map.of("id", POOL, "displayName", "Benchmark pool",
                "assignment", "floating", "minSize", size, "spare", size, "maxSize", size,
                "protocols", List.of("rdp"), "desktop", Map.of("vcpus", 1, "memoryMb", 512),
                "templates", templates,
                "entitlements", Map.of("groups", List.copyOf(GROUPS), "users", List.of())));
    }

    static void awaitReady(URI node, BenchTokens tokens, String admin, int size, Duration timeout) {
        String token = tokens.user("bench-watcher", GROUPS, 7200);
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        int ready = 0;
        long lastPrint = 0;
        while (ready < size) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("only " + ready + " of " + size + " desktops ready after " + timeout);
            }
            sleep(2000);
            for (JsonNode pool : get(node, "/api/v1/me/pools", token)) {
                if (POOL.equals(pool.path("id").asText())) {
                    ready = pool.path("readyDesktops").asInt();
                }
            }
            if (System.nanoTime() - lastPrint > 15e9) {
                lastPrint = System.nanoTime();
                System.out.printf("[bench] %d of %d desktops ready after %d s; pool status %s%n", ready, size,
                        (System.nanoTime() - start) / 1_000_000_000L,
                        get(node, "/api/v1/admin/pools/" + POOL + "/status", admin));
            }
        }
        System.out.printf("[bench] %d desktops ready after %d s%n", size, (System.nanoTime() - start) / 1_000_000_000L);
    }

    // JGroups ports: 14000-17000 for the nodes and 10000-13900 for the raw cluster, below the kernel's ephemeral
    // range (32768 and up), where other processes' outgoing connections could take a port between check and bind.

    /** The nodes use the real Keycloak: its discovery document and JWKS, its issuer, the broker's client secret. */
    static Map<String, String> nodeProperties() {
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put("quarkus.oidc.auth-server-url", KeycloakServer.realmUrl());
        properties.put("broker.keycloak.url", KeycloakServer.baseUrl());
        properties.put("quarkus.oidc.discovery-enabled", "true");
        properties.put("quarkus.oidc.public-key", "");
        properties.put("quarkus.oidc.token.issuer", KeycloakServer.issuer());
        properties.put("quarkus.oidc.credentials.secret", "vdi-broker-demo-secret");
        // provision a large pool in minutes, not hours (50 per tick by default)
        properties.put("broker.pool-manager.batch-size", System.getProperty("bench.batch-size", "1000"));
        // how many new desktops a node creates at a time (the broker's default unless set)
        String parallelism = System.getProperty("bench.create-parallelism");
        if (parallelism != null) {
            properties.put("broker.pool-manager.create-parallelism", parallelism);
        }
        properties.put("quarkus.log.category.\"org.infinispan.CLUSTER\".level", "WARN");
        return properties;
    }

    static String database(EmbeddedPostgres postgres, String name) throws Exception {
        String admin = "jdbc:postgresql://127.0.0.1:" + postgres.getPort() + "/postgres";
        try (Connection connection = DriverManager.getConnection(admin, "postgres", "");
                Statement statement = connection.createStatement()) {
            statement.execute("CREATE DATABASE " + name);
        }
        return "jdbc:postgresql://127.0.0.1:" + postgres.getPort() + "/" + name;
    }

    static void post(URI node, String path, String token, Object body) {
        try {
            HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(node.resolve(path))
                    .timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (answer.statusCode() / 100 != 2) {
                throw new IllegalStateException("POST " + path + " answered " + answer.statusCode() + ": "
                        + answer.body());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The body of a GET without a token (the management interface's metrics), which must answer 200. */
    static String text(URI uri) {
        return body(uri, null, Duration.ofSeconds(30));
    }

    static JsonNode get(URI node, String path, String token) {
        return readJson(body(node.resolve(path), token, Duration.ofSeconds(120)));
    }

    /** The body of a GET, with the token when there is one, which must answer 200. */
    private static String body(URI uri, String token, Duration timeout) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(timeout).GET();
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        try {
            HttpResponse<String> answer = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
            if (answer.statusCode() != 200) {
                throw new IllegalStateException("GET " + uri.getPath() + " answered " + answer.statusCode() + ": "
                        + answer.body());
            }
            return answer.body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode readJson(String body) {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Raw ceiling members' ports, apart from the broker nodes' 14000-17000 (see ClusterNodes for why below 32768). */
    private static int freeClusterPort(List<Integer> taken) {
        return ClusterNodes.freeClusterPort(taken, 10000, 13900);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
