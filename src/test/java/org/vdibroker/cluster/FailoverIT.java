package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.restassured.path.json.JsonPath;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
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
import org.vdibroker.testsupport.Tokens;

/**
 * Three broker JVMs (ClusterNodes) under load from users spread round-robin over the nodes, as a load balancer
 * would, while nodes fail: the invariants of ARCHITECTURE.md hold through a race, a paused node, a killed node and a
 * drain. The tests run in order on one cluster: the pause needs all three nodes, the kill leaves two, and the drain
 * runs on those two.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FailoverIT {

    private static final String ADMIN = Tokens.admin("failover-admin");
    private static final Pattern SESSION_STATES = Pattern.compile("QUEUED|PROVISIONING|READY|CONNECTED|DISCONNECTED");
    /**
     * A kill can land between the two writes of a new session (the session, then the user-sessions index that
     * publishes it): the user's retry opens their one published session and the unpublished one is ended by the pool
     * manager after this grace. Shorter than the 30 s default so the test waits less, and longer than the 10 s pause
     * of the pause test: a node stopped between claiming a desktop and writing it into the session must not find the
     * claim released as an orphan when it resumes.
     */
    private static final Duration ORPHAN_GRACE = Duration.ofSeconds(15);

    private EmbeddedPostgres postgres;
    private ClusterNodes cluster;
    private HttpClient http;
    private ExecutorService clients;
    /** Nodes that were killed: they are no longer asked, nor expected to answer. */
    private final Set<Integer> dead = ConcurrentHashMap.newKeySet();
    /** A node currently stopped with SIGSTOP, resumed again whatever happens. */
    private volatile Node paused;
    /** Users of the current load who had to ask again through another node. */
    private final Set<String> retried = ConcurrentHashMap.newKeySet();
    private final AtomicInteger failedAttempts = new AtomicInteger();

    @BeforeAll
    void startCluster() throws IOException {
        postgres = EmbeddedPostgres.builder().setServerConfig("listen_addresses", "127.0.0.1").start();
        // ports apart from ClusterIT's (10000-15000), should both run at once
        cluster = ClusterNodes.start("FailoverIT", 3,
                "jdbc:postgresql://127.0.0.1:" + postgres.getPort() + "/postgres", 15000, 20000,
                Map.of("broker.pool-manager.orphan-grace", ORPHAN_GRACE.toSeconds() + "s"));
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2))
                .build();
        clients = Executors.newFixedThreadPool(64);
        cluster.awaitMembers(3, Duration.ofSeconds(240)); // three JVMs starting at once on 2 cores

        hypervisor(cluster.node(1), "sim-fast", 100, 50);
        // slow enough that the kill lands while its pool still grows
        hypervisor(cluster.node(2), "sim-slow", 700, 8);
        pool(cluster.node(1), "race", "sim-fast", "/racers", 20, 10, 100);
        pool(cluster.node(2), "steady", "sim-fast", "/steady", 10, 5, 40);
        pool(cluster.node(3), "failover", "sim-slow", "/failover", 6, 2, 45);
        pool(cluster.node(1), "drain", "sim-slow", "/drainers", 0, 0, 12);
    }

    @AfterAll
    void stopCluster() throws IOException {
        resume();
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

    // ---------------------------------------------------------------------------------------------------------------

    @Test
    @Order(1)
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void threeHundredUsersRacingThroughAllNodesForOneHundredDesktops() throws Exception {
        await(Duration.ofSeconds(30), "20 ready desktops in pool race",
                () -> readyDesktops(cluster.node(1), "race", "/racers") >= 20);

        int users = 300;
        List<Node> nodes = cluster.nodes();
        List<Future<List<String>>> answers = new ArrayList<>();
        for (int i = 0; i < users; i++) {
            String token = Tokens.user("racer-" + i, "/racers");
            Node first = nodes.get(i % 3);
            Node second = nodes.get((i + 1) % 3);
            answers.add(clients.submit(() -> {
                Answer a = requestDesktop(first, "race", token, Duration.ofSeconds(30));
                Answer b = requestDesktop(second, "race", token, Duration.ofSeconds(30));
                assertThat(a.status()).as("node %d: %s", first.index(), a.body()).isIn(200, 202);
                assertThat(b.status()).as("node %d: %s", second.index(), b.body()).isIn(200, 202);
                return List.of(a.json().getString("id"), b.json().getString("id"));
            }));
        }
        Set<String> acknowledged = new HashSet<>();
        for (int i = 0; i < users; i++) {
            List<String> ids = answers.get(i).get(60, TimeUnit.SECONDS);
            assertThat(ids.get(1)).as("racer-%d asked through two nodes", i).isEqualTo(ids.get(0));
            acknowledged.add(ids.get(0));
        }
        assertThat(acknowledged).hasSize(users);

        // the pool grows to its maximum for the queue and hands each new desktop to the head of the queue
        await(Duration.ofSeconds(45), "100 desktops assigned in pool race", () -> held(cluster.node(2), "race") == 100);
        ClusterNodes.sleep(2000); // settled: nothing more may be handed out
        for (Node node : live()) {
            List<Map<String, Object>> sessions = assertInvariants(node, "race", users);
            assertThat(sessions).as("through node %d", node.index()).filteredOn(s -> s.get("desktopId") != null)
                    .hasSize(100);
            assertThat(sessions).extracting(s -> (String) s.get("id"))
                    .containsExactlyInAnyOrderElementsOf(acknowledged);
        }
        List<Map<String, Object>> desktops = desktops(cluster.node(3), "race");
        assertThat(desktops.stream().filter(d -> !"RETIRING".equals(d.get("state"))
                && !"DELETED".equals(d.get("state")))).as("desktops of pool race (max 100)").hasSize(100);
    }

    @Test
    @Order(2)
    @Timeout(value = 100, unit = TimeUnit.SECONDS)
    void aNodePausedForTenSecondsUnderLoadCausesNoDoubleAssignmentAndRejoins() throws Exception {
        await(Duration.ofSeconds(30), "10 ready desktops in pool steady",
                () -> readyDesktops(cluster.node(1), "steady", "/steady") >= 10);
        Node victim = managerOf("steady").orElse(cluster.node(3));
        System.out.printf("FailoverIT: pausing node %d (pool steady is managed by %s)%n", victim.index(),
                managerOf("steady").map(n -> "node " + n.index()).orElse("an unknown node"));

        int users = 90;
        CountDownLatch third = new CountDownLatch(users / 3);
        List<Future<Pair>> answers = load("steady", "/steady", "stalled", users, Duration.ofMillis(120), third);
        assertThat(third.await(30, TimeUnit.SECONDS)).isTrue();
        Instant stoppedAt = Instant.now();
        cluster.signal(victim, "STOP");
        paused = victim;
        // a load balancer keeps checking the others: they must stay ready (a check that read a distributed cache
        // waited on the paused member, and every node was taken out of service)
        List<String> notReady = new ArrayList<>();
        try {
            while (Duration.between(stoppedAt, Instant.now()).toMillis() < 10_000) {
                Instant round = Instant.now();
                for (Node node : live()) {
                    if (node != victim && !ClusterNodes.readyWithin(node, Duration.ofSeconds(2))) {
                        notReady.add("node " + node.index() + " at "
                                + Duration.between(stoppedAt, Instant.now()).toMillis() + " ms");
                    }
                }
                ClusterNodes.sleep(Math.max(0, 1000 - Duration.between(round, Instant.now()).toMillis()));
            }
        } finally {
            resume();
        }
        assertThat(notReady).as("readiness checks of the other nodes that failed or took over 2 s while node %d"
                + " was stopped", victim.index()).isEmpty();
        System.out.printf("FailoverIT: node %d was stopped for %d ms%n", victim.index(),
                Duration.between(stoppedAt, Instant.now()).toMillis());

        Map<String, String> acknowledged = collect(answers, Duration.ofSeconds(60));
        assertThat(acknowledged).as("users whose request was acknowledged (retrying through other nodes)")
                .hasSize(users);
        System.out.printf("FailoverIT: %d of %d users retried through another node (%d failed attempts)%n",
                retried.size(), users, failedAttempts.get());

        // it never left: all three nodes report three members again, and serve
        await(Duration.ofSeconds(40), "three members on every node",
                () -> cluster.nodes().stream().allMatch(n -> ClusterNodes.members(n) == 3));
        await(Duration.ofSeconds(40), "40 desktops assigned in pool steady",
                () -> held(cluster.node(1), "steady") == 40);
        ClusterNodes.sleep(1500);
        for (Node node : live()) {
            assertInvariants(node, "steady", users);
        }
        assertAcknowledgedSessionsFound(acknowledged, "/steady");
    }

    @Test
    @Order(3)
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void killingANodeUnderLoadLosesNoAcknowledgedSessionAndItsPoolsMoveToASurvivor() throws Exception {
        await(Duration.ofSeconds(30), "6 ready desktops in pool failover",
                () -> readyDesktops(cluster.node(1), "failover", "/failover") >= 6);
        Optional<Node> manager = managerOf("failover");
        // kill the node managing the pool under load, so a survivor must take the pool over
        Node victim = manager.orElse(cluster.node(2));
        System.out.printf("FailoverIT: killing node %d (pool failover is managed by %s)%n", victim.index(),
                manager.map(n -> "node " + n.index()).orElse("an unknown node"));

        int users = 120;
        CountDownLatch third = new CountDownLatch(users / 3);
        List<Future<Pair>> answers = load("failover", "/failover", "survivor", users, Duration.ofMillis(60),
                third);
        assertThat(third.await(30, TimeUnit.SECONDS)).isTrue();
        Node survivor = cluster.nodes().stream().filter(n -> n != victim).findFirst().orElseThrow();
        int heldBefore = held(survivor, "failover");
        victim.process().destroyForcibly(); // SIGKILL
        assertThat(victim.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        dead.add(victim.index());
        Instant killedAt = Instant.now();
        Set<String> desktopsAtKill = retrying(() -> desktops(survivor, "failover")).stream()
                .map(d -> (String) d.get("id")).collect(Collectors.toSet());
        System.out.printf("FailoverIT: node %d killed with %d desktops in pool failover, %d of them assigned%n",
                victim.index(), desktopsAtKill.size(), heldBefore);

        // the pool keeps growing for its queue: a survivor provisions new desktops and hands them out
        await(Duration.ofSeconds(20), "a desktop provisioned and made ready after the kill",
                () -> desktops(survivor, "failover").stream().anyMatch(d -> !desktopsAtKill.contains(d.get("id"))
                        && ("READY".equals(d.get("state")) || "ASSIGNED".equals(d.get("state")))));
        System.out.printf("FailoverIT: first desktop made after the kill was ready %d ms after it%n",
                Duration.between(killedAt, Instant.now()).toMillis());
        if (manager.isPresent()) {
            // only the killed node had managed the pool; now a survivor has
            assertThat(managers("failover")).as("survivors that manage pool failover").isNotEmpty();
        }

        Map<String, String> acknowledged = collect(answers, Duration.ofSeconds(60));
        assertThat(acknowledged).as("users whose request was acknowledged (retrying through other nodes)")
                .hasSize(users);
        System.out.printf("FailoverIT: %d of %d users retried through another node (%d failed attempts)%n",
                retried.size(), users, failedAttempts.get());
        assertThat(retried).as("users who found the killed node gone and asked another").isNotEmpty();
        await(Duration.ofSeconds(40), "45 desktops assigned in pool failover",
                () -> held(survivor, "failover") == 45);
        ClusterNodes.sleep(1500);
        for (Node node : live()) {
            assertThat(ClusterNodes.members(node)).as("members seen by survivor %d", node.index()).isEqualTo(2);
            // a session the killed node wrote but never published is ended after the orphan grace: wait that out
            awaitInvariants(node, "failover", users, ORPHAN_GRACE.plusSeconds(15));
            // the pools checked before lost nothing either
            assertInvariants(node, "race", 300);
            assertInvariants(node, "steady", 90);
        }
        assertAcknowledgedSessionsFound(acknowledged, "/failover");
    }

    @Test
    @Order(4)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void drainingANodeTurnsItsReadinessDownAndLetsRequestsInFlightComplete() throws Exception {
        List<Node> survivors = live();
        Node draining = survivors.get(0);
        Node other = survivors.get(1);
        assertThat(readiness(draining).status()).isEqualTo(200);

        // users queued for the slow pool follow their sessions as server-sent events through the node to drain
        Map<String, String> firstTokens = new HashMap<>();
        List<Future<Answer>> queued = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String token = Tokens.user("drainer-" + i, "/drainers");
            firstTokens.put("drainer-" + i, token);
            queued.add(clients.submit(() -> requestDesktop(draining, "drain", token, Duration.ofSeconds(20))));
        }
        List<Future<List<String>>> streams = new ArrayList<>();
        for (Future<Answer> f : queued) {
            Answer a = f.get(30, TimeUnit.SECONDS);
            assertThat(a.status()).as(a.body()).isIn(200, 202);
            String id = a.json().getString("id");
            String token = firstTokens.get(a.json().getString("user"));
            streams.add(clients.submit(() -> events(draining, id, token)));
        }
        // and more users ask through it at the moment it is drained
        List<Future<Answer>> inFlight = new ArrayList<>();
        for (int i = 8; i < 40; i++) {
            String token = Tokens.user("drainer-" + i, "/drainers");
            inFlight.add(clients.submit(() -> requestDesktop(draining, "drain", token, Duration.ofSeconds(30))));
        }
        ClusterNodes.sleep(100);
        Answer drained = send(draining, "POST", "/api/v1/admin/nodes/self/drain", ADMIN, null, Duration.ofSeconds(10));
        assertThat(drained.status()).as(drained.body()).isEqualTo(200);
        assertThat(drained.json().getBoolean("draining")).isTrue();

        Answer ready = readiness(draining);
        assertThat(ready.status()).as(ready.body()).isEqualTo(503);
        assertThat(ready.json().getBoolean("checks.find { it.name == 'broker-node' }.data.draining")).isTrue();
        assertThat(readiness(other).status()).as("the other node stays ready").isEqualTo(200);

        for (Future<Answer> f : inFlight) {
            Answer a = f.get(30, TimeUnit.SECONDS);
            assertThat(a.status()).as("a request in flight during the drain: %s", a.body()).isIn(200, 202);
        }
        for (Future<List<String>> stream : streams) {
            List<String> states = stream.get(40, TimeUnit.SECONDS);
            assertThat(states).as("states streamed by the draining node").isNotEmpty();
            assertThat(states.get(states.size() - 1)).as("the stream ran to its end: %s", states).isEqualTo("READY");
        }
        // the queue keeps being served while the node drains: the pool fills to its maximum of 12
        await(Duration.ofSeconds(30), "12 desktops assigned in pool drain", () -> held(other, "drain") == 12);
        ClusterNodes.sleep(1500);
        for (Node node : survivors) {
            assertInvariants(node, "drain", 40);
        }
        assertThat(readiness(draining).status()).as("still draining").isEqualTo(503);

        // pools created after the drain are managed by the other node, whichever node owns their keys first
        List<String> handed = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            handed.add("handover-" + i);
            pool(other, "handover-" + i, "sim-fast", "/handover", 1, 0, 1);
        }
        for (String poolId : handed) {
            await(Duration.ofSeconds(30), "a ready desktop in " + poolId,
                    () -> readyDesktops(other, poolId, "/handover") == 1);
            assertThat(managers(poolId)).as("nodes that managed " + poolId).containsExactly(other);
        }
    }

    // --- load --------------------------------------------------------------------------------------------------------

    /** A user's first acknowledged answer and the answer to asking again through another node. */
    private record Pair(String user, String first, String again) {
    }

    /**
     * {@code users} users, started {@code pace} apart, each asking through the next node in turn (round-robin) and
     * retrying through the following nodes when a node does not answer or fails, then asking again through another
     * node. Counts {@code answered} down as users get their first answer.
     */
    private List<Future<Pair>> load(String poolId, String group, String prefix, int users, Duration pace,
            CountDownLatch answered) {
        retried.clear();
        failedAttempts.set(0);
        List<Future<Pair>> answers = new ArrayList<>();
        for (int i = 0; i < users; i++) {
            String user = prefix + "-" + i;
            String token = Tokens.user(user, group);
            int start = i % 3;
            long delay = pace.toMillis() * i;
            answers.add(clients.submit(() -> {
                ClusterNodes.sleep(delay);
                String first = askUntilAnswered(poolId, token, start);
                answered.countDown();
                String again = first == null ? null : askUntilAnswered(poolId, token, start + 1);
                return new Pair(user, first, again);
            }));
        }
        return answers;
    }

    /** The session id of the first 200/202 answer, trying node after node for up to 60 s; null if none came. */
    private String askUntilAnswered(String poolId, String token, int startNode) {
        Instant deadline = Instant.now().plusSeconds(60);
        List<Node> nodes = cluster.nodes();
        for (int attempt = 0; Instant.now().isBefore(deadline); attempt++) {
            // a killed node is asked too, as a load balancer would until its health check notices: it refuses at once
            Node node = nodes.get((startNode + attempt) % nodes.size());
            Answer answer = requestDesktop(node, poolId, token, Duration.ofSeconds(4));
            if (answer.status() == 200 || answer.status() == 202) {
                return answer.json().getString("id");
            }
            retried.add(token);
            failedAttempts.incrementAndGet();
            ClusterNodes.sleep(100);
        }
        return null;
    }

    /** Waits for every user of a load; user -> acknowledged session id. Both answers must name the same session. */
    private static Map<String, String> collect(List<Future<Pair>> answers, Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        Map<String, String> acknowledged = new HashMap<>();
        for (Future<Pair> f : answers) {
            Pair p = f.get(Math.max(1, Duration.between(Instant.now(), deadline).toMillis()), TimeUnit.MILLISECONDS);
            assertThat(p.first()).as("%s got an answer", p.user()).isNotNull();
            assertThat(p.again()).as("%s asked again through another node", p.user()).isEqualTo(p.first());
            acknowledged.put(p.user(), p.first());
        }
        return acknowledged;
    }

    // --- invariants -------------------------------------------------------------------------------------------------

    /**
     * Checks, as seen through {@code node}: one live session per user, {@code users} of them; no desktop held by two
     * sessions; no session holding two desktops; each desktop's session names that desktop. Returns the sessions.
     */
    private List<Map<String, Object>> assertInvariants(Node node, String poolId, int users) {
        List<Map<String, Object>> sessions = list(node, "/api/v1/admin/sessions?pool=" + poolId);
        String where = "pool " + poolId + " through node " + node.index();
        assertThat(sessions).as("live sessions of %s", where).hasSize(users);
        assertThat(sessions.stream().map(s -> s.get("user")).distinct()).as("users of %s", where).hasSize(users);
        assertThat(sessions).allSatisfy(s -> assertThat((String) s.get("state")).matches(SESSION_STATES));
        List<Object> held = sessions.stream().map(s -> s.get("desktopId")).filter(Objects::nonNull).toList();
        assertThat(held).as("desktops held by sessions of %s", where).doesNotHaveDuplicates();

        Map<String, Object> desktopOfSession = sessions.stream().filter(s -> s.get("desktopId") != null)
                .collect(Collectors.toMap(s -> (String) s.get("id"), s -> s.get("desktopId")));
        List<Map<String, Object>> desktops = desktops(node, poolId);
        List<Object> holders = desktops.stream().map(d -> d.get("sessionId")).filter(Objects::nonNull).toList();
        assertThat(holders).as("sessions holding desktops of %s", where).doesNotHaveDuplicates();
        for (Map<String, Object> d : desktops) {
            if (d.get("sessionId") != null) {
                assertThat(desktopOfSession.get(d.get("sessionId")))
                        .as("the session of desktop %s (%s) in %s", d.get("id"), d.get("state"), where)
                        .isEqualTo(d.get("id"));
            }
        }
        assertThat(holders).as("desktops with a session in %s", where).hasSameSizeAs(held);
        return sessions;
    }

    /**
     * {@link #assertInvariants} until they hold, for at most {@code within}; each failure on the way is printed, so a
     * transient violation (a session of the killed node's, not yet ended) is seen in the log.
     */
    private void awaitInvariants(Node node, String poolId, int users, Duration within) {
        Instant deadline = Instant.now().plus(within);
        while (true) {
            try {
                assertInvariants(node, poolId, users);
                return;
            } catch (AssertionError e) {
                if (Instant.now().isAfter(deadline)) {
                    throw e;
                }
                String what = e.getMessage() == null ? "" : e.getMessage().lines().limit(2)
                        .collect(Collectors.joining(" "));
                System.out.printf("FailoverIT: not yet through node %d: %s%n", node.index(), what);
                ClusterNodes.sleep(1000);
            }
        }
    }

    /** Every acknowledged session is still there, through every live node, for its user. */
    private void assertAcknowledgedSessionsFound(Map<String, String> acknowledged, String group) {
        for (Node node : live()) {
            for (Map.Entry<String, String> ack : acknowledged.entrySet()) {
                Answer seen = send(node, "GET", "/api/v1/me/sessions/" + ack.getValue(),
                        Tokens.user(ack.getKey(), group), null, Duration.ofSeconds(10));
                assertThat(seen.status()).as("%s's session %s through node %d: %s", ack.getKey(), ack.getValue(),
                        node.index(), seen.body()).isEqualTo(200);
                assertThat(seen.json().getString("state")).matches(SESSION_STATES);
            }
        }
    }

    // --- cluster -----------------------------------------------------------------------------------------------------

    private List<Node> live() {
        return cluster.nodes().stream().filter(n -> !dead.contains(n.index())).toList();
    }

    /**
     * The node running the pool manager for a pool: it is the only one that registered the pool's gauges (they are
     * registered when a node first manages the pool, and the pools were created after the cluster formed).
     */
    private Optional<Node> managerOf(String poolId) {
        List<Node> managers = managers(poolId);
        return managers.size() == 1 ? Optional.of(managers.get(0)) : Optional.empty();
    }

    /** The live nodes that have managed a pool at some time. */
    private List<Node> managers(String poolId) {
        Pattern gauge = Pattern.compile("vdi_pool_queue_depth\\{[^}]*pool=\"" + Pattern.quote(poolId) + "\"");
        return live().stream().filter(n -> {
            Answer metrics = send(n, "GET", "/q/metrics", null, null, Duration.ofSeconds(10));
            return metrics.status() == 200 && gauge.matcher(metrics.body()).find();
        }).toList();
    }

    /** Resumes the paused node, if any. */
    private void resume() {
        Node node = paused;
        if (node != null) {
            try {
                cluster.signal(node, "CONT");
                paused = null;
            } catch (RuntimeException | AssertionError e) {
                node.process().destroyForcibly();
            }
        }
    }

    // --- HTTP --------------------------------------------------------------------------------------------------------

    /** An HTTP answer; status -1 when the node did not answer in time or refused the connection. */
    private record Answer(int status, String body) {
        JsonPath json() {
            return JsonPath.from(body);
        }
    }

    private Answer requestDesktop(Node node, String poolId, String token, Duration timeout) {
        return send(node, "POST", "/api/v1/me/pools/" + poolId + "/desktop", token, null, timeout);
    }

    private Answer readiness(Node node) {
        return send(node, "GET", "/q/health/ready", null, null, Duration.ofSeconds(10));
    }

    private Answer send(Node node, String method, String path, String token, String body, Duration timeout) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node.uri(path))).timeout(timeout)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
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

    /** The session's states as streamed by server-sent events until the stream ends (at most 40 s). */
    private List<String> events(Node node, String sessionId, String token) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(node.baseUri() + "/api/v1/me/sessions/" + sessionId
                + "/events")).timeout(Duration.ofSeconds(40)).header("Authorization", "Bearer " + token)
                .header("Accept", "text/event-stream").GET().build();
        HttpResponse<java.util.stream.Stream<String>> response = http.send(request,
                HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        try (var lines = response.body()) {
            return lines.filter(l -> l.startsWith("data:")).map(l -> JsonPath.from(l.substring(5)).getString("state"))
                    .toList();
        }
    }

    private List<Map<String, Object>> list(Node node, String path) {
        Answer answer = send(node, "GET", path, ADMIN, null, Duration.ofSeconds(15));
        assertThat(answer.status()).as("GET %s through node %d: %s", path, node.index(), answer.body()).isEqualTo(200);
        return answer.json().getList("$");
    }

    private List<Map<String, Object>> desktops(Node node, String poolId) {
        return list(node, "/api/v1/admin/pools/" + poolId + "/desktops");
    }

    /** Sessions of a pool holding a desktop; -1 while the node does not answer. */
    private int held(Node node, String poolId) {
        Answer answer = send(node, "GET", "/api/v1/admin/sessions?pool=" + poolId, ADMIN, null,
                Duration.ofSeconds(10));
        if (answer.status() != 200) {
            return -1;
        }
        List<Map<String, Object>> sessions = answer.json().getList("$");
        return (int) sessions.stream().filter(s -> s.get("desktopId") != null).count();
    }

    private int readyDesktops(Node node, String poolId, String group) {
        Answer pools = send(node, "GET", "/api/v1/me/pools", Tokens.user("watcher", group), null,
                Duration.ofSeconds(10));
        if (pools.status() != 200) {
            return -1;
        }
        Integer ready = pools.json().get("find { it.id == '" + poolId + "' }.readyDesktops");
        return ready == null ? -1 : ready;
    }

    private void hypervisor(Node node, String id, int latencyMs, int concurrency) {
        String body = """
                {"id": "%s", "driver": "simulator", "endpoint": "simulator://%s",
                 "config": {"cloneLatencyMs": "%d", "bootLatencyMs": "%d"},
                 "capacity": {"vcpus": 10000, "memoryMb": 10000000, "maxDesktops": 1000},
                 "concurrencyLimit": %d}""".formatted(id, id, latencyMs, latencyMs, concurrency);
        Answer created = send(node, "POST", "/api/v1/admin/hypervisors", ADMIN, body, Duration.ofSeconds(30));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
    }

    private void pool(Node node, String id, String hypervisorId, String group, int min, int spare, int max) {
        String body = """
                {"id": "%s", "displayName": "%s", "assignment": "floating", "minSize": %d, "spare": %d,
                 "maxSize": %d, "protocols": ["rdp"], "desktop": {"vcpus": 1, "memoryMb": 512},
                 "templates": [{"hypervisorId": "%s", "templateRef": "tmpl-%s"}],
                 "entitlements": {"groups": ["%s"], "users": []}}""".formatted(id, id, min, spare, max, hypervisorId,
                id, group);
        Answer created = send(node, "POST", "/api/v1/admin/pools", ADMIN, body, Duration.ofSeconds(30));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
    }

    private static <T> T retrying(java.util.function.Supplier<T> call) {
        AssertionError last = null;
        for (int attempt = 0; attempt < 20; attempt++) {
            try {
                return call.get();
            } catch (AssertionError e) {
                last = e;
                ClusterNodes.sleep(250);
            }
        }
        throw last;
    }

    private void await(Duration timeout, String what, BooleanSupplier condition) {
        cluster.await(timeout, what, condition);
    }
}
