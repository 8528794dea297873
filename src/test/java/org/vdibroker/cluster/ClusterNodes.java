package org.vdibroker.cluster;

import static io.restassured.RestAssured.given;

import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Broker nodes as separate JVMs started from the packaged application (target/quarkus-app/quarkus-run.jar), all on
 * 127.0.0.1, clustered with infinispan-cluster.xml and the TCPPING stack, sharing one PostgreSQL. User tokens are
 * signed with the test key (testsupport.Tokens), which the nodes are told to trust instead of Keycloak. Each node
 * logs to {@code target/cluster-it/<name>/node-<n>.log}.
 */
public final class ClusterNodes implements AutoCloseable {

    private static final Path JAR = Path.of("target", "quarkus-app", "quarkus-run.jar");
    private static final Path CDS_ARCHIVE = Path.of("target", "quarkus-app", "broker-cds.jsa");

    private final List<Node> nodes = new ArrayList<>();
    /**
     * Kills the nodes when the test JVM is stopped before {@link #close()} (a run cut short with SIGTERM or Ctrl-C):
     * they are separate processes and would otherwise go on holding their ports.
     */
    private final Thread killOnExit = new Thread(this::killAll, "cluster-nodes-kill-on-exit");
    private final Path logDir;
    private final String jdbcUrl;
    private final String secretsKey;
    private final String clusterKey;
    private final int portFrom;
    private final int portTo;
    private final List<Integer> takenPorts = new ArrayList<>();
    private final String initialHosts;
    private final java.util.Map<String, String> properties;

    /**
     * One broker JVM: its HTTP port, its management port (health, metrics, OpenAPI), its JGroups port and the
     * process.
     */
    public record Node(int index, int httpPort, int managementPort, int clusterPort, Process process, Path log) {
        public String baseUri() {
            return "http://127.0.0.1:" + httpPort;
        }

        /** The management interface: /q/health/..., /q/metrics, /q/openapi answer there only. */
        public String managementUri() {
            return "http://127.0.0.1:" + managementPort;
        }

        /** The URL of {@code path} on this node: health, metrics, OpenAPI (/q/...) on the management port. */
        public String uri(String path) {
            return (path.startsWith("/q/") ? managementUri() : baseUri()) + path;
        }

        public RequestSpecification api() {
            return given().baseUri(baseUri());
        }

        public RequestSpecification management() {
            return given().baseUri(managementUri());
        }
    }

    /** Starts {@code count} nodes at once (as a scheduler starting a cluster would) against the given database. */
    public static ClusterNodes start(String name, int count, String jdbcUrl) {
        return new ClusterNodes(name, count, jdbcUrl, 10000, 15000, java.util.Map.of());
    }

    /**
     * As {@link #start(String, int, String)}, with the nodes' HTTP and JGroups ports taken from [portFrom, portTo)
     * instead of [10000, 15000), so test classes that may run at the same time on one machine keep to separate
     * ranges. The range must lie outside the kernel's ephemeral range: a port found free there can be taken by any
     * outgoing connection (JDBC, JGroups) in the seconds before the node binds it, and the node then fails to start.
     */
    public static ClusterNodes start(String name, int count, String jdbcUrl, int portFrom, int portTo) {
        return new ClusterNodes(name, count, jdbcUrl, portFrom, portTo, java.util.Map.of());
    }

    /**
     * As {@link #start(String, int, String, int, int)}, with system properties for every node that come after (and so
     * override) the defaults, e.g. the real Keycloak instead of the test key (the benchmarks).
     */
    public static ClusterNodes start(String name, int count, String jdbcUrl, int portFrom, int portTo,
            java.util.Map<String, String> properties) {
        return new ClusterNodes(name, count, jdbcUrl, portFrom, portTo, properties);
    }

    private ClusterNodes(String name, int count, String jdbcUrl, int clusterPortFrom, int clusterPortTo,
            java.util.Map<String, String> properties) {
        refuseEphemeral(clusterPortFrom, clusterPortTo);
        this.properties = java.util.Map.copyOf(properties);
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR + " is missing: run `mvn verify` (it packages before the *IT tests)");
        }
        this.logDir = Path.of("target", "cluster-it", name);
        Runtime.getRuntime().addShutdownHook(killOnExit);
        this.jdbcUrl = jdbcUrl;
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        this.secretsKey = Base64.getEncoder().encodeToString(key);
        byte[] cluster = new byte[32];
        new SecureRandom().nextBytes(cluster);
        this.clusterKey = Base64.getEncoder().encodeToString(cluster);
        this.portFrom = clusterPortFrom;
        this.portTo = clusterPortTo;
        List<Integer> clusterPorts = new ArrayList<>();
        List<Integer> taken = takenPorts;
        for (int i = 0; i < count; i++) {
            int port = freeClusterPort(taken, clusterPortFrom, clusterPortTo);
            clusterPorts.add(port);
            taken.add(port);
        }
        List<Integer> httpPorts = new ArrayList<>();
        List<Integer> managementPorts = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int port = freeClusterPort(taken, clusterPortFrom, clusterPortTo);
            httpPorts.add(port);
            taken.add(port);
            port = freeClusterPort(taken, clusterPortFrom, clusterPortTo);
            managementPorts.add(port);
            taken.add(port);
        }
        this.initialHosts = clusterPorts.stream().map(p -> "127.0.0.1[" + p + "]").collect(Collectors.joining(","));
        try {
            Files.createDirectories(logDir);
            deletePreviousRun(); // a node's outbox journal from an earlier run would be replayed
            for (int i = 0; i < count; i++) {
                nodes.add(launch(i + 1, httpPorts.get(i), managementPorts.get(i), clusterPorts.get(i), clusterKey,
                        initialHosts));
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    public List<Node> nodes() {
        return List.copyOf(nodes);
    }

    public Node node(int index) {
        return nodes.get(index - 1);
    }

    /**
     * Stops node {@code index}: SIGTERM (a graceful stop) or, with {@code kill}, SIGKILL; waits until it is gone.
     */
    public void stop(int index, boolean kill) {
        Process process = node(index).process();
        if (kill) {
            process.destroyForcibly();
        } else {
            process.destroy();
        }
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError("node " + index + " did not stop within 30 s:\n" + tail(node(index)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Sends {@code signal} (e.g. STOP, CONT) to the node's JVM with {@code kill}; fails when kill does. */
    public void signal(Node node, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(node.process().pid())).inheritIO()
                    .start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new AssertionError("kill -" + signal + " of node " + node.index() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Starts a stopped node again: same ports, same data directory (its outbox journal), a fresh JVM. */
    public Node relaunch(int index) {
        Node old = node(index);
        if (old.process().isAlive()) {
            throw new IllegalStateException("node " + index + " still runs");
        }
        try {
            Node fresh = launch(index, old.httpPort(), old.managementPort(), old.clusterPort(), clusterKey,
                    initialHosts);
            nodes.set(index - 1, fresh);
            return fresh;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void deletePreviousRun() throws IOException {
        try (var paths = Files.list(logDir)) {
            for (Path dir : paths.filter(p -> p.getFileName().toString().startsWith("data-")
                    || p.getFileName().toString().endsWith(".log")).toList()) {
                try (var files = Files.walk(dir)) {
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    /**
     * Starts a node that is not one of the cluster's: same cluster name, same member list (plus itself), but without
     * the cluster key (its traffic in clear text). The caller stops it with {@link Node#process()}.
     */
    public Node launchStranger(int index) {
        int clusterPort = freeClusterPort(takenPorts, portFrom, portTo);
        takenPorts.add(clusterPort);
        int httpPort = freeClusterPort(takenPorts, portFrom, portTo);
        takenPorts.add(httpPort);
        int managementPort = freeClusterPort(takenPorts, portFrom, portTo);
        takenPorts.add(managementPort);
        try {
            return launch(index, httpPort, managementPort, clusterPort, null,
                    initialHosts + ",127.0.0.1[" + clusterPort + "]");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Node launch(int index, int httpPort, int managementPort, int clusterPort, String key, String hosts)
            throws IOException {
        Path dataDir = Files.createDirectories(logDir.resolve("data-" + index));
        Path log = logDir.resolve("node-" + index + ".log");
        // the tests' nodes fit three to a small machine; the benchmarks give each the heap the Helm chart's default
        // memory limit leaves a node (-Dcluster.nodes.heap=768m: 75 % of 1 GiB, where the JVM picks the serial
        // collector too)
        List<String> command = new ArrayList<>(List.of(javaBinary(),
                "-Xmx" + System.getProperty("cluster.nodes.heap", "384m"),
                // the collector a JVM picks in the Helm chart's default pod (under 1,792 MB: serial); the benchmarks
                // can compare another (-Dcluster.nodes.gc=G1)
                "-XX:+Use" + System.getProperty("cluster.nodes.gc", "Serial") + "GC",
                // C1 only: three JVMs booting at once on two cores spend less on compiling (17 s -> 11 s measured);
                // the benchmarks ask for the full JIT of a production JVM (-Dcluster.nodes.full-jit=true)
                Boolean.getBoolean("cluster.nodes.full-jit") ? "-XX:+TieredCompilation" : "-XX:TieredStopAtLevel=1",
                // the package's class-data archive (.ci/broker-cds.sh, before the ITs): a node's boot takes about a
                // fifth less CPU; a missing archive is ignored
                "-XX:SharedArchiveFile=" + CDS_ARCHIVE.toAbsolutePath(),
                "-Dquarkus.http.host=127.0.0.1",
                "-Dquarkus.http.port=" + httpPort,
                "-Dquarkus.management.host=127.0.0.1",
                "-Dquarkus.management.port=" + managementPort,
                "-Dbroker.data-dir=" + dataDir.toAbsolutePath(),
                "-Dbroker.secrets.key=" + secretsKey,
                "-Dbroker.cluster.config=infinispan-cluster.xml",
                "-Dvdi.cluster.stack=tcpping",
                "-Dvdi.cluster.name=cluster-it-" + ProcessHandle.current().pid(),
                "-Dvdi.cluster.node-name=node-" + index,
                "-Dvdi.cluster.bind-address=127.0.0.1",
                "-Dvdi.cluster.bind-port=" + clusterPort,
                "-Dvdi.cluster.initial-hosts=" + hosts,
                // what the nodes write (ClusterMarshaller): ProtoStream unless this JVM was told otherwise
                "-Dvdi.cluster.marshalling=" + ClusterMarshaller.Format.configured().setting(),
                key == null ? "-Dbroker.cluster.unencrypted=true" : "-Dbroker.cluster.key=" + key,
                // trust the test signing key instead of Keycloak
                "-Dquarkus.oidc.public-key=" + testPublicKey(),
                "-Dquarkus.oidc.auth-server-url=",
                "-Dquarkus.oidc.discovery-enabled=false",
                "-Dquarkus.oidc.token.issuer=https://test.vdibroker/realms/vdi",
                "-Dquarkus.log.category.\"org.infinispan.CLUSTER\".level=INFO"));
        // further JVM options for the benchmarks' experiments (e.g. the young generation's sizing), space-separated
        for (String option : System.getProperty("cluster.nodes.jvm-options", "").trim().split("\\s+")) {
            if (!option.isEmpty()) {
                command.add(option);
            }
        }
        String jfrDir = System.getProperty("cluster.nodes.jfr", "");
        if (!jfrDir.isBlank()) {
            // a profile from the node's start, so before any warm-up: attaching one to a warm JVM makes it recompile
            // (benchmarks.md); written when the node stops, one file per launch
            Path jfr = Files.createDirectories(Path.of(jfrDir))
                    .resolve("node-" + index + "-" + System.currentTimeMillis() + ".jfr");
            command.add("-XX:StartFlightRecording=settings=profile,dumponexit=true,filename=" + jfr.toAbsolutePath());
        }
        properties.forEach((name, value) -> command.add("-D" + name + "=" + value)); // the last of a key wins
        command.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())); // a relaunched node's log goes on
        builder.environment().put("QUARKUS_PROFILE", "prod,postgresql");
        builder.environment().put("BROKER_DB_URL", jdbcUrl);
        builder.environment().put("BROKER_DB_USER", "postgres");
        builder.environment().put("BROKER_DB_PASSWORD", "");
        return new Node(index, httpPort, managementPort, clusterPort, builder.start(), log);
    }

    /**
     * Waits until every node is ready and sees {@code members} members; fails at once if a node exits, and with every
     * node's state and log tail on time-out (the node at fault is often not the one that was asked).
     */
    public void awaitMembers(int members, Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        for (Node node : nodes) {
            while (members(node) != members) {
                for (Node any : nodes) {
                    if (!any.process().isAlive()) {
                        throw new AssertionError("node " + any.index() + " exited with "
                                + any.process().exitValue() + ":\n" + tail(any) + everyTail());
                    }
                }
                if (Instant.now().isAfter(deadline)) {
                    throw new AssertionError("node " + node.index() + " does not see " + members + " members but "
                            + members(node) + everyTail());
                }
                sleep(500);
            }
        }
    }

    private String everyTail() {
        StringBuilder logs = new StringBuilder();
        for (Node node : nodes) {
            logs.append("\n--- node ").append(node.index())
                    .append(node.process().isAlive() ? " (running)" : " (exited)")
                    .append('\n').append(tail(node));
        }
        return logs.toString();
    }

    /**
     * Whether the node's readiness check answers 200 within {@code timeout}: what a load balancer's health check asks
     * (HAProxy, an Ingress controller or the kubelet give it a second or two).
     */
    public static boolean readyWithin(Node node, Duration timeout) {
        try {
            java.net.URI readiness = java.net.URI.create(node.managementUri() + "/q/health/ready");
            java.net.http.HttpResponse<Void> answer = READINESS.send(java.net.http.HttpRequest.newBuilder(readiness)
                    .timeout(timeout).GET().build(), java.net.http.HttpResponse.BodyHandlers.discarding());
            return answer.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static final java.net.http.HttpClient READINESS = java.net.http.HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(1)).build();

    /** Cluster members a node reports in its readiness check; -1 while it does not answer or is not ready. */
    public static int members(Node node) {
        try {
            Response ready = node.management().get("/q/health/ready");
            if (ready.statusCode() != 200) {
                return -1;
            }
            Integer members = ready.jsonPath().get("checks.find { it.name == 'broker-node' }.data.cluster-members");
            return members == null ? -1 : members;
        } catch (Exception e) { // connection refused while starting (thrown undeclared by rest-assured)
            return -1;
        }
    }

    /** The last lines a node logged, for failure messages. */
    public static String tail(Node node) {
        try {
            List<String> lines = Files.readAllLines(node.log());
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private void killAll() {
        // a copy (toArray): the test's thread may be relaunching a node at this moment
        for (Object node : nodes.toArray()) {
            ((Node) node).process().destroyForcibly();
        }
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(killOnExit);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook kills the nodes
        }
        for (Node node : nodes) {
            node.process().destroy();
        }
        for (Node node : nodes) {
            try {
                if (!node.process().waitFor(20, TimeUnit.SECONDS)) {
                    node.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                node.process().destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    private static String testPublicKey() {
        try (InputStream in = ClusterNodes.class.getResourceAsStream("/META-INF/microprofile-config.properties")) {
            Properties properties = new Properties();
            properties.load(in);
            return properties.getProperty("test.oidc.public-key");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Fails when [from, to) meets the kernel's ephemeral port range (see the five-argument start). */
    private static void refuseEphemeral(int from, int to) {
        try {
            // readAllLines: Files.readString trusts the size /proc reports and reads a truncated value
            String line = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0);
            String[] range = line.trim().split("\\s+");
            int low = Integer.parseInt(range[0]);
            int high = Integer.parseInt(range[1]);
            if (from <= high && to > low) {
                throw new IllegalArgumentException("ports [" + from + ", " + to + ") meet the ephemeral range " + low
                        + "-" + high + " (net.ipv4.ip_local_port_range)");
            }
        } catch (IOException e) {
            // not Linux: nothing to check against
        }
    }

    /** A port p such that p (JGroups TCP) and p + 100 (FD_SOCK2) are both free on 127.0.0.1 and not yet taken. */
    public static int freeClusterPort(List<Integer> taken, int from, int to) {
        for (int attempt = 0; attempt < 200; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(from, to - 100);
            if (taken.stream().noneMatch(t -> Math.abs(t - port) <= 100)
                    && free(port) && free(port + 100)) {
                return port;
            }
        }
        throw new IllegalStateException("no free port pair for JGroups");
    }

    private static boolean free(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Waits for {@code condition}; on time-out fails with the tail of every node's log. */
    void await(Duration timeout, String what, java.util.function.BooleanSupplier condition) {
        java.time.Instant deadline = java.time.Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (java.time.Instant.now().isAfter(deadline)) {
                StringBuilder logs = new StringBuilder();
                for (Node node : nodes()) {
                    logs.append("\n--- node ").append(node.index()).append('\n').append(tail(node));
                }
                throw new AssertionError("timed out waiting for " + what + logs);
            }
            sleep(250);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
