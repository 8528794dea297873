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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.vdibroker.cluster.ClusterNodes.Node;
import org.vdibroker.testsupport.RestartablePostgres;
import org.vdibroker.testsupport.Tokens;

/**
 * Three broker JVMs (ClusterNodes) under request load while their PostgreSQL is stopped for 20 s: ready desktops
 * keep being handed out and the pool keeps provisioning from the cluster's state; audit events and inventory changes
 * wait in the cluster's outbox, a node is killed meanwhile, and after the restart every one of them is in the
 * database, once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DatabaseOutageIT {

    private static final String ADMIN = Tokens.admin("outage-admin");
    private static final String POOL = "outage";
    private static final String GROUP = "/outage";
    /**
     * How long PostgreSQL stays down at least: the users' requests, their desktops and the kill take about 15 s of it;
     * nothing in the broker waits on the outage's length (the outbox tries every second, without back-off), so the
     * rest is only a quiet stretch with writes waiting (30 s in the faults benchmark, benchmarks.md).
     */
    private static final Duration OUTAGE = Duration.ofSeconds(20);
    private static final int USERS = 60;

    private RestartablePostgres postgres;
    private ClusterNodes cluster;
    private HttpClient http;
    private ExecutorService clients;

    @BeforeAll
    void startCluster() {
        postgres = RestartablePostgres.start();
        // ports apart from ClusterIT's (10000-15000) and FailoverIT's (15000-20000), should they run at once
        cluster = ClusterNodes.start("DatabaseOutageIT", 3, postgres.jdbcUrl(), 20000, 25000);
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2))
                .build();
        clients = Executors.newFixedThreadPool(32);
        cluster.awaitMembers(3, Duration.ofSeconds(240)); // three JVMs starting at once on 2 cores

        Answer hypervisor = send(cluster.node(1), "POST", "/api/v1/admin/hypervisors", """
                {"id": "sim-outage", "driver": "simulator", "endpoint": "simulator://sim-outage",
                 "config": {"cloneLatencyMs": "200", "bootLatencyMs": "200"},
                 "capacity": {"vcpus": 10000, "memoryMb": 10000000, "maxDesktops": 1000},
                 "concurrencyLimit": 50}""");
        assertThat(hypervisor.status()).as(hypervisor.body()).isEqualTo(201);
        Answer pool = send(cluster.node(2), "POST", "/api/v1/admin/pools", """
                {"id": "%s", "displayName": "Outage", "assignment": "floating", "minSize": 10, "spare": 5,
                 "maxSize": 200, "protocols": ["rdp"], "desktop": {"vcpus": 1, "memoryMb": 512},
                 "templates": [{"hypervisorId": "sim-outage", "templateRef": "tmpl-outage"}],
                 "entitlements": {"groups": ["%s"], "users": []}}""".formatted(POOL, GROUP));
        assertThat(pool.status()).as(pool.body()).isEqualTo(201);
    }

    @AfterAll
    void stopCluster() {
        if (clients != null) {
            clients.shutdownNow();
        }
        if (cluster != null) {
            cluster.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void brokeringAndProvisioningGoOnWhileTheDatabaseIsStoppedAndNoAuditEventIsLost() throws Exception {
        cluster.await(Duration.ofSeconds(40), "10 ready desktops", () -> readyDesktops(cluster.node(1)) >= 10);
        // hypervisor definitions live in the database: every node must have loaded sim-outage (its registry refreshes
        // every 5 s) before the database goes, or it cannot hand out connections to its desktops
        cluster.await(Duration.ofSeconds(20), "sim-outage known on every node", () -> cluster.nodes().stream()
                .allMatch(n -> send(n, "GET", "/q/metrics", null).body()
                        .contains("vdi_hypervisor_answering{hypervisor=\"sim-outage\"")));
        cluster.await(Duration.ofSeconds(20), "an empty outbox on every node", () -> cluster.nodes().stream()
                .allMatch(n -> "UP".equals(detail(n, "database")) && Integer.valueOf(0).equals(
                        detail(n, "outbox-pending"))));
        Set<String> desktopsBefore = desktopIds(cluster.node(1));

        postgres.stop();
        Instant stoppedAt = Instant.now();
        Map<String, Answer> answers;
        try {
            // one user every 150 ms, each asking through the next node in turn as a load balancer would
            List<Future<Map.Entry<String, Answer>>> asked = new ArrayList<>();
            for (int i = 0; i < USERS; i++) {
                String user = "outage-" + i;
                Node node = cluster.nodes().get(i % 3);
                long delay = 150L * i;
                asked.add(clients.submit(() -> {
                    ClusterNodes.sleep(delay);
                    return Map.entry(user, requestDesktop(node, user));
                }));
            }
            answers = new HashMap<>();
            for (Future<Map.Entry<String, Answer>> f : asked) {
                Map.Entry<String, Answer> a = f.get(60, TimeUnit.SECONDS);
                answers.put(a.getKey(), a.getValue());
            }
            assertThat(answers.values()).allSatisfy(a -> assertThat(a.status()).as(a.body()).isIn(200, 202));
            long servedAtOnce = answers.values().stream().filter(a -> a.status() == 200).count();
            System.out.printf("DatabaseOutageIT: %d users answered %d ms into the outage%n", USERS,
                    Duration.between(stoppedAt, Instant.now()).toMillis());

            cluster.await(Duration.ofSeconds(25), "every user's session READY",
                    () -> sessions(cluster.node(2)).stream().filter(s -> "READY".equals(s.get("state"))).count()
                            == USERS);
            Set<String> provisionedDuringOutage = desktopIds(cluster.node(3));
            provisionedDuringOutage.removeAll(desktopsBefore);
            for (Node node : cluster.nodes()) {
                JsonPath ready = readiness(node);
                assertThat(ready.getString("status")).as("node %d stays ready", node.index()).isEqualTo("UP");
                assertThat(ready.getString("checks.find { it.name == 'broker-node' }.data.database"))
                        .isEqualTo("DEGRADED");
            }
            int pending = cluster.nodes().stream().mapToInt(n -> (Integer) detail(n, "outbox-pending")).sum();
            System.out.printf("DatabaseOutageIT: with PostgreSQL down %d ms, %d of %d users got a ready desktop at"
                    + " once, %d desktops were provisioned, %d writes wait in the outbox%n",
                    Duration.between(stoppedAt, Instant.now()).toMillis(), servedAtOnce, USERS,
                    provisionedDuringOutage.size(), pending);
            assertThat(servedAtOnce).as("users served from ready desktops").isGreaterThan(0);
            assertThat(provisionedDuringOutage).as("desktops provisioned during the outage")
                    .hasSizeGreaterThan(USERS / 2);
            assertThat(pending).as("writes waiting in the outbox").isGreaterThan(USERS);

            // invariant 4: a node dying while writes wait loses none of them; their other copies are written
            Node victim = cluster.node(3);
            victim.process().destroyForcibly(); // SIGKILL
            assertThat(victim.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
            cluster.await(Duration.ofSeconds(20), "two members seen by the survivors",
                    () -> survivors().stream().allMatch(n -> ClusterNodes.members(n) == 2));
            System.out.printf("DatabaseOutageIT: node 3 killed while %d writes waited in the cluster%n", pending);

            ClusterNodes.sleep(Math.max(0, OUTAGE.minus(Duration.between(stoppedAt, Instant.now())).toMillis()));
        } finally {
            postgres.restart();
        }
        Instant restartedAt = Instant.now();
        System.out.printf("DatabaseOutageIT: PostgreSQL was stopped for %d ms%n",
                Duration.between(stoppedAt, restartedAt).toMillis());

        cluster.await(Duration.ofSeconds(30), "the survivors' outbox written", () -> survivors().stream()
                .allMatch(n -> "UP".equals(detail(n, "database")) && Integer.valueOf(0).equals(
                        detail(n, "outbox-pending"))));
        System.out.printf("DatabaseOutageIT: outbox written %d ms after the restart%n",
                Duration.between(restartedAt, Instant.now()).toMillis());

        // every session the nodes handed a desktop is in the audit log once; every desktop with its events and row
        List<Map<String, Object>> sessions = sessions(cluster.node(1));
        Set<String> sessionIds = sessions.stream().map(s -> (String) s.get("id")).collect(Collectors.toSet());
        assertThat(sessionIds).hasSize(USERS);
        assertThat(answers.values().stream().map(a -> a.json().getString("id"))).containsExactlyInAnyOrderElementsOf(
                sessionIds);
        assertThat(postgres.count("select count(*) from audit_event where kind = 'desktop.assigned'"
                + " and pool_id = '" + POOL + "'")).isEqualTo(USERS);
        assertThat(postgres.count("select count(distinct session_id) from audit_event"
                + " where kind = 'desktop.assigned' and pool_id = '" + POOL + "'")).isEqualTo(USERS);
        List<Map<String, Object>> desktops = desktops(cluster.node(1));
        assertThat(postgres.count("select count(*) from audit_event where kind = 'desktop.provisioning'"
                + " and pool_id = '" + POOL + "'")).isEqualTo(desktops.size());
        assertThat(postgres.count("select count(*) from desktop where pool_id = '" + POOL + "'"))
                .isEqualTo(desktops.size());
        long withVm = desktops.stream().filter(d -> d.get("vmRef") != null).count();
        assertThat(postgres.count("select count(*) from desktop where pool_id = '" + POOL + "' and vm_ref is not null"))
                .isEqualTo(withVm);
        List<Object> held = sessions.stream().map(s -> s.get("desktopId")).filter(Objects::nonNull).toList();
        assertThat(held).hasSize(USERS).doesNotHaveDuplicates();
    }

    private List<Node> survivors() {
        return List.of(cluster.node(1), cluster.node(2));
    }

    // --- HTTP --------------------------------------------------------------------------------------------------------

    private record Answer(int status, String body) {
        JsonPath json() {
            return JsonPath.from(body);
        }
    }

    private Answer requestDesktop(Node node, String user) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(node.baseUri() + "/api/v1/me/pools/" + POOL
                + "/desktop")).timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer "
                        + Tokens.user(user, GROUP)).POST(HttpRequest.BodyPublishers.noBody()).build();
        return send(request);
    }

    private Answer send(Node node, String method, String path, String body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node.uri(path)))
                .timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + ADMIN)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        return send(request.build());
    }

    private Answer send(HttpRequest request) {
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            return new Answer(response.statusCode(), response.body());
        } catch (IOException e) {
            return new Answer(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Answer(-1, e.toString());
        }
    }

    private JsonPath readiness(Node node) {
        Answer answer = send(node, "GET", "/q/health/ready", null);
        assertThat(answer.status()).as("readiness of node %d: %s", node.index(), answer.body()).isIn(200, 503);
        return answer.json();
    }

    /** A detail of the broker-node readiness check; null while the node does not answer. */
    private Object detail(Node node, String key) {
        Answer answer = send(node, "GET", "/q/health/ready", null);
        return answer.status() == 200 ? answer.json().get("checks.find { it.name == 'broker-node' }.data." + key)
                : null;
    }

    private int readyDesktops(Node node) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(node.baseUri() + "/api/v1/me/pools"))
                .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + Tokens.user("watcher", GROUP))
                .GET().build();
        Answer pools = send(request);
        if (pools.status() != 200) {
            return -1;
        }
        Integer ready = pools.json().get("find { it.id == '" + POOL + "' }.readyDesktops");
        return ready == null ? -1 : ready;
    }

    private List<Map<String, Object>> list(Node node, String path) {
        Answer answer = send(node, "GET", path, null);
        assertThat(answer.status()).as("GET %s through node %d: %s", path, node.index(), answer.body())
                .isEqualTo(200);
        return answer.json().getList("$");
    }

    private List<Map<String, Object>> sessions(Node node) {
        return list(node, "/api/v1/admin/sessions?pool=" + POOL);
    }

    private List<Map<String, Object>> desktops(Node node) {
        return list(node, "/api/v1/admin/pools/" + POOL + "/desktops");
    }

    private Set<String> desktopIds(Node node) {
        return desktops(node).stream().map(d -> (String) d.get("id")).collect(Collectors.toSet());
    }
}
