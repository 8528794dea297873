package org.vdibroker.bench;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.vdibroker.bench.LoadGenerator.Request;
import org.vdibroker.cluster.ClusterNodes;
import org.vdibroker.cluster.ClusterNodes.Node;
import org.vdibroker.testsupport.RestartablePostgres;

/**
 * Benchmark 5, faults under load: three broker nodes serve warm assignments at a fixed arrival rate (open loop) while
 * one node is killed with {@code kill -9} (and started again, as Kubernetes would), another is stopped with SIGSTOP
 * for 10 s, and then PostgreSQL is stopped for 30 s. A load-balancer stand-in checks each node's readiness every
 * second and takes a node out after two failed checks, back after two good ones (HAProxy's {@code fall 2 rise 2}).
 * Reports, per fault, the requests that failed and the seconds until the served rate is back to 90 % of the arrival
 * rate for three seconds in a row; afterwards the invariants of benchmark 1 are checked, and a violation fails the run.
 * See {@code src/site/markdown/benchmarks.md}.
 */
public final class FaultsBench {

    /** Seconds of load before the first fault, and between one fault and the next. */
    private static final int BASELINE = 20;

    /**
     * A fault: what, when (seconds from the start of the load), how long it lasts (0: at once, as a kill), and when
     * the next one starts.
     */
    record Fault(String name, int at, int lasts, int until) {
    }

    public static void main(String[] args) throws Exception {
        double rate = Double.parseDouble(System.getProperty("bench.faults.rate", "15"));
        int window = Integer.getInteger("bench.faults.window-seconds", 50);
        List<Fault> faults = List.of(
                new Fault("kill -9 of node 3 (started again at once)", BASELINE, 0, BASELINE + window),
                new Fault("SIGSTOP of node 2 for 10 s", BASELINE + window, 10, BASELINE + 2 * window),
                new Fault("PostgreSQL stopped for 30 s", BASELINE + 2 * window, 30, BASELINE + 3 * window));
        int seconds = BASELINE + 3 * window;
        int desktops = Integer.getInteger("bench.faults.desktops", (int) (rate * seconds * 1.15) + 100);
        Path out = Path.of(System.getProperty("bench.out", "target/bench"));

        BenchReport report = new BenchReport("faults", "Benchmark 5: faults under load");
        report.setting("ratePerSecond", rate);
        report.setting("desktops", desktops);
        report.setting("seconds", seconds);
        report.setting("nodes", 3);
        report.runAndExit(out, () -> {
            try (RestartablePostgres postgres = RestartablePostgres.start()) {
                BenchTokens tokens = BenchTokens.withKeycloak(out);
                ClusterNodes cluster = WarmAssignmentBench.started(ClusterNodes.start("bench-faults", 3,
                        postgres.jdbcUrl(), 14000, 17000, WarmAssignmentBench.nodeProperties()));
                try {
                    cluster.awaitMembers(3, Duration.ofSeconds(600));
                    String admin = tokens.admin("bench-admin", 7200);
                    URI first = URI.create(cluster.node(1).baseUri());
                    WarmAssignmentBench.definePool(first, admin, desktops);
                    WarmAssignmentBench.awaitReady(first, tokens, admin, desktops, Duration.ofSeconds(1200));
                    return run(cluster, postgres, tokens, admin, rate, seconds, desktops, faults, report);
                } finally {
                    // never leave a stopped JVM behind
                    cluster.nodes().stream().filter(n -> n.process().isAlive()).forEach(n -> cluster.signal(n, "CONT"));
                    cluster.close();
                }
            }
        });
    }

    private static long run(ClusterNodes cluster, RestartablePostgres postgres, BenchTokens tokens, String admin,
            double rate, int seconds, int desktops, List<Fault> faults, BenchReport report) throws Exception {
        int users = (int) Math.ceil(rate * seconds);
        String[] userTokens = tokens.users("bench-fault-", users, WarmAssignmentBench.GROUPS, 7200);
        Map<String, String> desktopOf = new ConcurrentHashMap<>();
        Set<String> notWarm = ConcurrentHashMap.newKeySet();
        AtomicLongArray served = new AtomicLongArray(seconds + 120); // 2xx answers by the second they came
        AtomicLongArray servedByDue = new AtomicLongArray(seconds + 1); // 2xx answers by the second they were due
        List<String> events = new ArrayList<>();
        List<URI> uris = cluster.nodes().stream().map(n -> URI.create(n.baseUri())).toList();
        long start;
        LoadGenerator.Result result;
        try (LoadGenerator load = new LoadGenerator(uris, 256);
                Balancer balancer = new Balancer(cluster, load, events)) {
            start = System.nanoTime();
            balancer.start(start);
            Thread faulting = new Thread(() -> inject(cluster, postgres, faults, start, events), "bench-faults");
            faulting.start();
            result = load.openLoop("warm assignment under faults", rate, users, Duration.ofSeconds(seconds),
                    i -> Request.post("/api/v1/me/pools/" + WarmAssignmentBench.POOL + "/desktop", userTokens[(int) i],
                            "{\"protocol\":\"rdp\"}"),
                    (i, response) -> {
                        if (response.statusCode() / 100 == 2) {
                            int second = (int) ((System.nanoTime() - start) / 1_000_000_000L);
                            served.incrementAndGet(Math.min(second, served.length() - 1));
                            servedByDue.incrementAndGet((int) Math.min(i / rate, seconds));
                        }
                        WarmAssignmentBench.record("bench-fault-" + i, response, desktopOf, notWarm);
                    });
            faulting.join(TimeUnit.MINUTES.toMillis(5));
        }
        report.add("broker-faults", result);
        events.forEach(e -> report.note(e));
        figures(report, faults, served, servedByDue, rate, seconds);

        // the cluster settles (the database is back, every node ready) before the invariants are read
        cluster.awaitMembers(3, Duration.ofSeconds(300));
        return WarmAssignmentBench.invariants(URI.create(cluster.node(1).baseUri()), admin, desktops, desktopOf,
                notWarm, report);
    }

    /**
     * Per fault, the requests due in its window that were not served and the seconds until the rate is back; and the
     * served requests per second (the chart's timeline).
     */
    static void figures(BenchReport report, List<Fault> faults, AtomicLongArray served,
            AtomicLongArray servedByDue, double rate, int seconds) {
        List<Map<String, Object>> perFault = new ArrayList<>();
        StringBuilder md = new StringBuilder("| fault | at s | failed requests | seconds until 90 % of the rate"
                + " is served again |\n|---|---|---|---|\n");
        for (Fault fault : faults) {
            // request i is due at i / rate: those due in the window, and how many of them were served
            long due = (long) Math.ceil(fault.until() * rate) - (long) Math.ceil(fault.at() * rate);
            long ok = 0;
            for (int s = fault.at(); s < fault.until(); s++) {
                ok += servedByDue.get(s);
            }
            Integer recovery = recovery(served, rate, fault);
            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("fault", fault.name());
            figures.put("atSecond", fault.at());
            figures.put("lastsSeconds", fault.lasts());
            figures.put("dueInWindow", due);
            figures.put("failedInWindow", due - ok);
            figures.put("secondsUntilRecovered", recovery);
            perFault.add(figures);
            md.append(String.format(Locale.ROOT, "| %s | %d | %d | %s |%n", fault.name(), fault.at(),
                    due - ok,
                    recovery == null ? "not within " + (fault.until() - fault.at()) + " s" : recovery.toString()));
        }
        report.put("faults", perFault);
        report.put("servedPerSecond", timeline(served, seconds + 30));
        report.markdown(md.toString());
        report.markdown("Served per second: " + timeline(served, seconds + 30));
    }

    /** The faults, each at its second of the load. */
    private static void inject(ClusterNodes cluster, RestartablePostgres postgres, List<Fault> faults, long start,
            List<String> events) {
        waitUntil(start, faults.get(0).at());
        event(events, start, "kill -9 of node 3");
        cluster.stop(3, true);
        cluster.relaunch(3);
        event(events, start, "node 3 started again");

        waitUntil(start, faults.get(1).at());
        Node stopped = cluster.node(2);
        event(events, start, "SIGSTOP of node 2");
        cluster.signal(stopped, "STOP");
        sleep(TimeUnit.SECONDS.toMillis(faults.get(1).lasts()));
        cluster.signal(stopped, "CONT");
        event(events, start, "SIGCONT of node 2");

        waitUntil(start, faults.get(2).at());
        event(events, start, "PostgreSQL stopped");
        postgres.stop();
        sleep(TimeUnit.SECONDS.toMillis(faults.get(2).lasts()));
        postgres.restart();
        event(events, start, "PostgreSQL started again");
    }

    /** The first second from the fault on after which 90 % of the rate is served three seconds in a row. */
    static Integer recovery(AtomicLongArray served, double rate, Fault fault) {
        double enough = 0.9 * rate;
        for (int s = fault.at(); s + 2 < fault.until(); s++) {
            if (served.get(s) >= enough && served.get(s + 1) >= enough && served.get(s + 2) >= enough) {
                return s - fault.at();
            }
        }
        return null;
    }

    private static List<Long> timeline(AtomicLongArray served, int seconds) {
        List<Long> values = new ArrayList<>();
        for (int s = 0; s < Math.min(seconds, served.length()); s++) {
            values.add(served.get(s));
        }
        return values;
    }

    /**
     * A load balancer's health checks: each node's readiness every second (800 ms time-out); two failures take it out
     * of the rotation, two successes put it back.
     */
    private static final class Balancer implements AutoCloseable {
        private final ClusterNodes cluster;
        private final LoadGenerator load;
        private final List<String> events;
        private final Map<Integer, Integer> streak = new ConcurrentHashMap<>(); // > 0: good checks, < 0: failed
        private final Set<Integer> out = ConcurrentHashMap.newKeySet();
        private volatile boolean running = true;
        private Thread thread;

        Balancer(ClusterNodes cluster, LoadGenerator load, List<String> events) {
            this.cluster = cluster;
            this.load = load;
            this.events = events;
        }

        void start(long start) {
            thread = new Thread(() -> {
                while (running) {
                    boolean changed = false;
                    for (Node node : cluster.nodes()) {
                        boolean ready = ClusterNodes.readyWithin(node, Duration.ofMillis(800));
                        int now = streak.merge(node.index(), ready ? 1 : -1,
                                (a, b) -> Integer.signum(a) == Integer.signum(b) ? a + b : b);
                        if (now <= -2 && out.add(node.index())) {
                            event(events, start, "balancer takes node " + node.index() + " out");
                            changed = true;
                        } else if (now >= 2 && out.remove(node.index())) {
                            event(events, start, "balancer puts node " + node.index() + " back");
                            changed = true;
                        }
                    }
                    if (changed) {
                        load.rotation(cluster.nodes().stream().filter(n -> !out.contains(n.index()))
                                .map(n -> URI.create(n.baseUri())).toList());
                    }
                    sleep(1000);
                }
            }, "bench-balancer");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            if (thread != null) {
                thread.join(5000);
            }
        }
    }

    private static void event(List<String> events, long start, String what) {
        String line = String.format(Locale.ROOT, "%.1f s: %s", (System.nanoTime() - start) / 1e9, what);
        synchronized (events) {
            events.add(line);
        }
        System.out.println("[bench] " + line);
    }

    private static void waitUntil(long start, int second) {
        long due = start + TimeUnit.SECONDS.toNanos(second);
        long left = due - System.nanoTime();
        if (left > 0) {
            sleep(TimeUnit.NANOSECONDS.toMillis(left));
        }
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
