package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.restassured.path.json.JsonPath;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.vdibroker.cluster.ClusterNodes.Node;
import org.vdibroker.testsupport.RestartablePostgres;
import org.vdibroker.testsupport.Tokens;

/**
 * Nodes restarting while PostgreSQL is down. First one node of three is restarted during the outage: it gets the
 * hypervisor and pool definitions from its peers (also a hypervisor added just before the outage) and its users get
 * desktops. Then every node is stopped while audit events and inventory changes wait in the outbox (once with
 * SIGTERM, once with SIGKILL), started again, and only then the database: every waiting write is in it, once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OutageRestartIT {

    private static final String ADMIN = Tokens.admin("restart-admin");
    private static final String GROUP = "/restart";

    private RestartablePostgres postgres;
    private ClusterNodes cluster;
    private HttpClient http;
    /** Sessions handed out (id), and desktops seen, while the database was down: their writes waited in the outbox. */
    private final Set<String> sessionsDuringOutage = new HashSet<>();
    private final Set<String> desktopsDuringOutage = new HashSet<>();

    @BeforeAll
    void startCluster() {
        postgres = RestartablePostgres.start();
        // JGroups ports above the other cluster ITs' ranges and the usual ephemeral range
        cluster = ClusterNodes.start("OutageRestartIT", 3, postgres.jdbcUrl(), 62100, 65000);
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2))
                .build();
        cluster.awaitMembers(3, Duration.ofSeconds(240));
        createSimulator(cluster.node(1), "sim-early");
        createPool(cluster.node(2), "early", "sim-early");
    }

    @AfterAll
    void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    @Order(1)
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void aNodeRestartedDuringTheOutageServesEveryPoolFromItsPeers() throws Exception {
        cluster.await(Duration.ofSeconds(40), "2 ready desktops in pool early",
                () -> ready(cluster.node(1), "early") >= 2);
        // added just before the outage, through node 1: node 3 never reads it from the database
        createSimulator(cluster.node(1), "sim-late");
        createPool(cluster.node(1), "late", "sim-late");
        cluster.await(Duration.ofSeconds(30), "2 ready desktops in pool late",
                () -> ready(cluster.node(2), "late") >= 2);

        postgres.stop();
        // under load: users keep asking through nodes 1 and 2 while node 3 restarts
        AtomicBoolean loading = new AtomicBoolean(true);
        ConcurrentLinkedQueue<Answer> loadAnswers = new ConcurrentLinkedQueue<>();
        AtomicInteger next = new AtomicInteger();
        Thread load = new Thread(() -> {
            while (loading.get() && next.get() < 40) {
                int i = next.getAndIncrement();
                loadAnswers.add(requestDesktop(cluster.node(1 + i % 2), "load-" + i, i % 2 == 0 ? "early" : "late"));
                ClusterNodes.sleep(300);
            }
        }, "outage-load");
        load.start();
        try {
            cluster.stop(3, false);
            Instant restarting = Instant.now();
            cluster.relaunch(3);
            cluster.awaitMembers(3, Duration.ofSeconds(180));
            System.out.printf("OutageRestartIT: node 3 restarted and rejoined in %d ms with PostgreSQL down%n",
                    Duration.between(restarting, Instant.now()).toMillis());
        } finally {
            loading.set(false);
            load.join(30_000);
        }
        Node restarted = cluster.node(3);
        assertThat(detail(restarted, "definitions")).as("node 3 serves definitions from the cluster")
                .isEqualTo("cluster");
        assertThat(detail(restarted, "database")).isEqualTo("DEGRADED");

        Answer pools = send(restarted, "GET", "/api/v1/me/pools", null, Tokens.user("looker", GROUP));
        assertThat(pools.status()).as(pools.body()).isEqualTo(200);
        assertThat(pools.json().getList("id", String.class)).contains("early", "late");
        List<Answer> throughRestarted = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            throughRestarted.add(requestDesktop(restarted, "restarted-" + i, i % 2 == 0 ? "early" : "late"));
        }
        List<Answer> all = new ArrayList<>(throughRestarted);
        all.addAll(loadAnswers);
        assertThat(all).as("no answer is a 503 or an error").allSatisfy(
                a -> assertThat(a.status()).as(a.body()).isIn(200, 202));
        all.forEach(a -> sessionsDuringOutage.add(a.json().getString("id")));
        try {
            cluster.await(Duration.ofSeconds(40), "every session READY", () -> sessionsDuringOutage.stream()
                    .allMatch(id -> "READY".equals(sessionState(restarted, id))));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + whatEachNodeSees(), e);
        }
        // a connection through the restarted node, on each pool's hypervisor (sim-late was never read there)
        for (int i = 0; i < 2; i++) {
            String id = throughRestarted.get(i).json().getString("id");
            Answer connection = send(restarted, "POST", "/api/v1/me/sessions/" + id + "/connection", null,
                    Tokens.user("restarted-" + i, GROUP));
            assertThat(connection.status()).as(connection.body()).isEqualTo(200);
        }
        System.out.printf("OutageRestartIT: %d users served during the outage, %d of them through the restarted"
                + " node%n", all.size(), throughRestarted.size());
    }

    @Test
    @Order(2)
    @Timeout(value = 600, unit = TimeUnit.SECONDS)
    void writesWaitingWhenEveryNodeStopsAreWrittenOnceAfterTheRestart() throws Exception {
        desktopsDuringOutage.addAll(desktopIds(cluster.node(1), "early"));
        desktopsDuringOutage.addAll(desktopIds(cluster.node(1), "late"));
        int pending = pendingSum();
        assertThat(pending).as("writes waiting in the outbox").isGreaterThan(sessionsDuringOutage.size());

        // a graceful stop of every node at once (SIGTERM), the database still down
        for (Node n : cluster.nodes()) {
            n.process().destroy();
        }
        for (int i = 1; i <= 3; i++) {
            cluster.stop(i, false);
        }
        restartAll();
        // the entries are back from the nodes' disks (the definitions are not: no pool is served until the database
        // answers), and every node is killed (SIGKILL) while they wait again
        cluster.await(Duration.ofSeconds(30), "the waiting writes back in the outbox", () -> pendingSum() >= pending);
        for (Node n : cluster.nodes()) {
            n.process().destroyForcibly();
        }
        for (int i = 1; i <= 3; i++) {
            cluster.stop(i, true);
        }
        restartAll();

        postgres.restart();
        Instant back = Instant.now();
        cluster.await(Duration.ofSeconds(60), "every node's outbox written", () -> cluster.nodes().stream()
                .allMatch(n -> "UP".equals(detail(n, "database")) && Integer.valueOf(0).equals(
                        detail(n, "outbox-pending"))));
        System.out.printf("OutageRestartIT: outbox written %d ms after PostgreSQL came back%n",
                Duration.between(back, Instant.now()).toMillis());

        for (String session : sessionsDuringOutage) {
            assertThat(postgres.count("select count(*) from audit_event where kind = 'desktop.assigned'"
                    + " and session_id = '" + session + "'")).as("session %s assigned, once", session).isEqualTo(1);
        }
        for (String desktop : desktopsDuringOutage) {
            assertThat(postgres.count("select count(*) from desktop where id = '" + desktop + "'"))
                    .as("inventory row of desktop %s", desktop).isEqualTo(1);
            assertThat(postgres.count("select count(*) from audit_event where kind = 'desktop.provisioning'"
                    + " and desktop_id = '" + desktop + "'")).as("provisioning of %s audited once", desktop)
                    .isEqualTo(1);
        }
    }

    private void restartAll() {
        Instant at = Instant.now();
        for (int i = 1; i <= 3; i++) {
            cluster.relaunch(i);
        }
        cluster.awaitMembers(3, Duration.ofSeconds(240));
        System.out.printf("OutageRestartIT: every node started again in %d ms, PostgreSQL down%n",
                Duration.between(at, Instant.now()).toMillis());
    }

    /** For a failure message: the sessions not READY and each node's view of them and of the pools. */
    private String whatEachNodeSees() {
        StringBuilder seen = new StringBuilder("\n--- what each node sees");
        for (Node node : cluster.nodes()) {
            seen.append("\nnode ").append(node.index()).append(':');
            for (String pool : List.of("early", "late")) {
                seen.append("\n  pool ").append(pool).append(": ")
                        .append(send(node, "GET", "/api/v1/admin/pools/" + pool + "/status", null, ADMIN).body());
            }
            Answer listed = send(node, "GET", "/api/v1/admin/sessions", null, ADMIN);
            for (String id : sessionsDuringOutage) {
                Object session = listed.status() == 200 ? listed.json().get("find { it.id == '" + id + "' }")
                        : listed.body();
                if (session == null || !String.valueOf(session).contains("state=READY")) {
                    seen.append("\n  session ").append(id).append(": ").append(session);
                }
            }
        }
        return seen.toString();
    }

    private int pendingSum() {
        return cluster.nodes().stream().mapToInt(n -> {
            Object p = detail(n, "outbox-pending");
            return p == null ? 0 : (Integer) p;
        }).sum();
    }

    // --- HTTP --------------------------------------------------------------------------------------------------------

    private record Answer(int status, String body) {
        JsonPath json() {
            return JsonPath.from(body);
        }
    }

    private void createSimulator(Node node, String id) {
        Answer a = send(node, "POST", "/api/v1/admin/hypervisors", """
                {"id": "%s", "driver": "simulator", "endpoint": "simulator://%s",
                 "config": {"cloneLatencyMs": "200", "bootLatencyMs": "200"},
                 "capacity": {"vcpus": 1000, "memoryMb": 1000000, "maxDesktops": 200}, "concurrencyLimit": 20}"""
                .formatted(id, id), ADMIN);
        assertThat(a.status()).as(a.body()).isEqualTo(201);
    }

    private void createPool(Node node, String id, String hypervisor) {
        Answer a = send(node, "POST", "/api/v1/admin/pools", """
                {"id": "%s", "displayName": "%s", "assignment": "floating", "minSize": 2, "spare": 2,
                 "maxSize": 60, "protocols": ["rdp"], "desktop": {"vcpus": 1, "memoryMb": 512},
                 "templates": [{"hypervisorId": "%s", "templateRef": "tmpl-%s"}],
                 "entitlements": {"groups": ["%s"], "users": []}}""".formatted(id, id, hypervisor, id, GROUP), ADMIN);
        assertThat(a.status()).as(a.body()).isEqualTo(201);
    }

    private Answer requestDesktop(Node node, String user, String pool) {
        return send(node, "POST", "/api/v1/me/pools/" + pool + "/desktop", null, Tokens.user(user, GROUP));
    }

    private Answer send(Node node, String method, String path, String body, String token) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node.uri(path)))
                .timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + token)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Answer(response.statusCode(), response.body());
        } catch (IOException e) {
            return new Answer(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Answer(-1, e.toString());
        }
    }

    /** A detail of the broker-node readiness check; null while the node does not answer. */
    private Object detail(Node node, String key) {
        Answer answer = send(node, "GET", "/q/health/ready", null, ADMIN);
        return answer.status() == 200 ? answer.json().get("checks.find { it.name == 'broker-node' }.data." + key)
                : null;
    }

    private int ready(Node node, String pool) {
        Answer pools = send(node, "GET", "/api/v1/me/pools", null, Tokens.user("watcher", GROUP));
        if (pools.status() != 200) {
            return -1;
        }
        Integer ready = pools.json().get("find { it.id == '" + pool + "' }.readyDesktops");
        return ready == null ? -1 : ready;
    }

    private String sessionState(Node node, String sessionId) {
        Answer a = send(node, "GET", "/api/v1/admin/sessions", null, ADMIN);
        if (a.status() != 200) {
            return null;
        }
        return a.json().getString("find { it.id == '" + sessionId + "' }.state");
    }

    private Set<String> desktopIds(Node node, String pool) {
        Answer a = send(node, "GET", "/api/v1/admin/pools/" + pool + "/desktops", null, ADMIN);
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        return a.json().getList("id", String.class).stream().collect(Collectors.toSet());
    }
}
