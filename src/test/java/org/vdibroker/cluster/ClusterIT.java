package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.vdibroker.cluster.ClusterNodes.Node;
import org.vdibroker.testsupport.Tokens;

/**
 * Three broker JVMs from the packaged application on 127.0.0.1, clustered over JGroups with infinispan-cluster.xml
 * and sharing one PostgreSQL: they form one cluster, and what one node decides every other node serves.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterIT {

    private static final String ADMIN = Tokens.admin("cluster-admin");

    /**
     * JGroups' MERGE3 rounds in this cluster (production: 5-15 s), shortened so that the stranger can be watched over
     * several rounds in a few seconds.
     */
    private static final Map<String, String> SHORT_MERGE_ROUNDS = Map.of(
            "vdi.cluster.merge-min-interval", "1s", "vdi.cluster.merge-max-interval", "3s");

    private EmbeddedPostgres postgres;
    private ClusterNodes cluster;
    /**
     * A node without the cluster key, started once the three have formed their cluster, and stopped by its test. Not
     * at the same time as they start: JGroups' discovery and join requests are not encrypted (SYM_ENCRYPT sits under
     * NAKACK2 and a JOIN carries no payload), so a keyless node that is up first is taken for the coordinator and
     * accepts the others' joins into its own view, which they cannot read: in one CI run the three never formed
     * their cluster (see security.md, "Cluster traffic").
     */
    private Node stranger;

    @BeforeAll
    void startCluster() throws IOException {
        postgres = EmbeddedPostgres.builder().setServerConfig("listen_addresses", "127.0.0.1").start();
        cluster = ClusterNodes.start("ClusterIT", 3,
                "jdbc:postgresql://127.0.0.1:" + postgres.getPort() + "/postgres", 10000, 15000, SHORT_MERGE_ROUNDS);
        cluster.awaitMembers(3, Duration.ofSeconds(240)); // three JVMs starting at once on 2 cores
        stranger = cluster.launchStranger(9);

        // definitions go through different nodes: all of them read the one database
        cluster.node(1).api().auth().oauth2(ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", "sim-c", "driver", "simulator", "endpoint", "simulator://sim-c",
                        "config", Map.of("cloneLatencyMs", "200", "bootLatencyMs", "200"),
                        "capacity", Map.of("vcpus", 1000, "memoryMb", 1000000, "maxDesktops", 100),
                        "concurrencyLimit", 50))
                .post("/api/v1/admin/hypervisors").then().statusCode(201);
        cluster.node(2).api().auth().oauth2(ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", "shared", "displayName", "Shared pool", "assignment", "floating",
                        "minSize", 4, "spare", 4, "maxSize", 8, "protocols", List.of("rdp", "vnc"),
                        "desktop", Map.of("vcpus", 1, "memoryMb", 512),
                        "templates", List.of(Map.of("hypervisorId", "sim-c", "templateRef", "tmpl-shared")),
                        "entitlements", Map.of("groups", List.of("/engineering"), "users", List.of())))
                .post("/api/v1/admin/pools").then().statusCode(201);
        cluster.node(3).api().auth().oauth2(ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", "scarce", "displayName", "Scarce pool", "assignment", "floating",
                        "minSize", 6, "spare", 0, "maxSize", 6, "protocols", List.of("rdp"),
                        "desktop", Map.of("vcpus", 1, "memoryMb", 512),
                        "templates", List.of(Map.of("hypervisorId", "sim-c", "templateRef", "tmpl-scarce")),
                        "entitlements", Map.of("groups", List.of("/racers"), "users", List.of())))
                .post("/api/v1/admin/pools").then().statusCode(201);
    }

    @AfterAll
    void stopCluster() throws IOException, InterruptedException {
        if (stranger != null && stranger.process().isAlive()) {
            stranger.process().destroy();
            stranger.process().waitFor();
        }
        if (cluster != null) {
            cluster.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    /**
     * Cluster traffic is encrypted with the cluster key: a broker started without it, pointed at the same members
     * under the same cluster name, stays alone, and the three keep their cluster, also across MERGE3 rounds (every
     * 1-3 s here, see SHORT_MERGE_ROUNDS).
     */
    @Test
    void aNodeWithoutTheClusterKeyCannotJoin() throws InterruptedException {
        try {
            cluster.await(Duration.ofSeconds(150), "the stranger to be ready", () -> {
                assertThat(stranger.process().isAlive()).as("stranger runs:\n%s", ClusterNodes.tail(stranger)).isTrue();
                return ClusterNodes.members(stranger) >= 1;
            });
            // watched for 10 s: more than three of the longest MERGE3 intervals
            for (int round = 0; round < 5; round++) {
                assertThat(ClusterNodes.members(stranger)).as("members the stranger sees").isEqualTo(1);
                for (Node node : cluster.nodes()) {
                    assertThat(ClusterNodes.members(node)).as("members node %d sees", node.index()).isEqualTo(3);
                }
                Thread.sleep(2500);
            }
        } finally {
            stranger.process().destroy();
            stranger.process().waitFor();
        }
    }

    @Test
    void everyNodeSeesTheSameThreeMemberCluster() {
        for (Node node : cluster.nodes()) {
            assertThat(ClusterNodes.members(node)).as("members seen by node %d", node.index()).isEqualTo(3);
        }
        // the admin console's nodes tab: every member, whichever node answers, itself marked
        List<Map<String, Object>> members = cluster.node(2).api().auth().oauth2(ADMIN).get("/api/v1/admin/nodes")
                .then().statusCode(200).extract().jsonPath().getList("$");
        assertThat(members).hasSize(3);
        assertThat(members).filteredOn(m -> Boolean.TRUE.equals(m.get("self"))).hasSize(1);
        assertThat(members).filteredOn(m -> Boolean.TRUE.equals(m.get("coordinator"))).hasSize(1);
        assertThat(members).extracting(m -> m.get("draining")).containsOnly(false);
    }

    @Test
    void desktopsMadeReadyByThePoolsOwnerAreSeenAsReadyByEveryNode() {
        // the pool manager runs on one node; the others learn of its desktops through clustered cache listeners
        String user = Tokens.user("watcher", "/engineering");
        for (Node node : cluster.nodes()) {
            await(Duration.ofSeconds(60), "node " + node.index() + " to see 4 ready desktops",
                    () -> readyDesktops(node, user) >= 4);
        }
    }

    @Test
    void aDesktopRequestedThroughOneNodeIsTheSameSessionThroughTheOthers() {
        String alice = Tokens.user("alice", "/engineering");
        await(Duration.ofSeconds(60), "a ready desktop", () -> readyDesktops(cluster.node(1), alice) >= 1);

        Response first = cluster.node(1).api().auth().oauth2(alice).post("/api/v1/me/pools/shared/desktop");
        assertThat(first.statusCode()).as(first.asString()).isIn(200, 202);
        String sessionId = first.jsonPath().getString("id");

        Response again = cluster.node(2).api().auth().oauth2(alice).post("/api/v1/me/pools/shared/desktop");
        assertThat(again.statusCode()).as(again.asString()).isIn(200, 202);
        assertThat(again.jsonPath().getString("id")).isEqualTo(sessionId);

        await(Duration.ofSeconds(30), "the session to have a desktop on node 3", () -> cluster.node(3).api()
                .auth().oauth2(alice).get("/api/v1/me/sessions/" + sessionId).jsonPath()
                .getString("desktopId") != null);
        Response seen = cluster.node(3).api().auth().oauth2(alice).get("/api/v1/me/sessions/" + sessionId);
        assertThat(seen.statusCode()).isEqualTo(200);
        assertThat(seen.jsonPath().getString("user")).isEqualTo("alice");
        String desktopId = seen.jsonPath().getString("desktopId");

        List<Map<String, Object>> desktops = cluster.node(2).api().auth().oauth2(ADMIN)
                .get("/api/v1/admin/pools/shared/desktops").then().statusCode(200).extract().jsonPath().getList("$");
        assertThat(desktops).filteredOn(d -> sessionId.equals(d.get("sessionId")))
                .extracting(d -> d.get("id")).containsExactly(desktopId);
    }

    @Test
    void usersRacingThroughAllNodesForTooFewDesktopsGetEachDesktopOnceAndOneSessionEach() throws Exception {
        String watcher = Tokens.user("race-watcher", "/racers");
        for (Node node : cluster.nodes()) {
            await(Duration.ofSeconds(60), "node " + node.index() + " to see 6 ready desktops in pool scarce",
                    () -> readyDesktops(node, watcher, "scarce") == 6);
        }

        // 18 users, each asking through one node and at once again through the next, as a round-robin balancer would
        int users = 18;
        ExecutorService pool = Executors.newFixedThreadPool(users);
        List<Future<List<String>>> answers = new ArrayList<>();
        try {
            for (int i = 0; i < users; i++) {
                String token = Tokens.user("racer-" + i, "/racers");
                Node first = cluster.nodes().get(i % 3);
                Node second = cluster.nodes().get((i + 1) % 3);
                answers.add(pool.submit(() -> List.of(requestScarce(first, token), requestScarce(second, token))));
            }
            for (int i = 0; i < users; i++) {
                List<String> ids = answers.get(i).get();
                assertThat(ids.get(1)).as("racer-%d's second answer", i).isEqualTo(ids.get(0));
            }
        } finally {
            pool.shutdownNow();
        }

        // a request that yields to sessions queued ahead of it answers 202 while a desktop is still free; the pool
        // manager hands that desktop to the head of the queue within a tick
        await(Duration.ofSeconds(20), "6 sessions holding desktops", () -> cluster.node(1).api().auth().oauth2(ADMIN)
                .get("/api/v1/admin/sessions?pool=scarce").then().statusCode(200).extract().jsonPath()
                .getList("desktopId").stream().filter(d -> d != null).count() >= 6);
        List<Map<String, Object>> sessions = cluster.node(1).api().auth().oauth2(ADMIN)
                .get("/api/v1/admin/sessions?pool=scarce").then().statusCode(200).extract().jsonPath().getList("$");
        assertThat(sessions).hasSize(users);
        assertThat(sessions.stream().map(s -> s.get("user")).distinct()).hasSize(users);
        List<Object> heldDesktops = sessions.stream().map(s -> s.get("desktopId")).filter(d -> d != null).toList();
        assertThat(heldDesktops).hasSize(6).doesNotHaveDuplicates();

        List<Map<String, Object>> desktops = cluster.node(2).api().auth().oauth2(ADMIN)
                .get("/api/v1/admin/pools/scarce/desktops").then().statusCode(200).extract().jsonPath().getList("$");
        Map<Object, Object> sessionOfDesktop = desktops.stream().filter(d -> d.get("sessionId") != null)
                .collect(Collectors.toMap(d -> d.get("id"), d -> d.get("sessionId")));
        assertThat(sessionOfDesktop).hasSize(6);
        assertThat(sessionOfDesktop.values()).doesNotHaveDuplicates();
    }

    private static String requestScarce(Node node, String token) {
        Response answer = node.api().auth().oauth2(token).post("/api/v1/me/pools/scarce/desktop");
        assertThat(answer.statusCode()).as("node %d: %s", node.index(), answer.asString()).isIn(200, 202);
        return answer.jsonPath().getString("id");
    }

    private static int readyDesktops(Node node, String token) {
        return readyDesktops(node, token, "shared");
    }

    private static int readyDesktops(Node node, String token, String poolId) {
        Response pools = node.api().auth().oauth2(token).get("/api/v1/me/pools");
        if (pools.statusCode() != 200) {
            return -1;
        }
        Integer ready = pools.jsonPath().get("find { it.id == '" + poolId + "' }.readyDesktops");
        return ready == null ? -1 : ready;
    }

    private void await(Duration timeout, String what, BooleanSupplier condition) {
        cluster.await(timeout, what, condition);
    }
}
