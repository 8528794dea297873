package org.vdibroker.access;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/** Assignment under concurrency: invariants 1 and 2 of ARCHITECTURE.md through the HTTP API. */
@QuarkusTest
class DesktopAssignmentTest {

    @Test
    void twoHundredUsersRaceForAHundredDesktopsAndTheQueueIsServedAsThePoolGrows() throws Exception {
        Api.simulator("sim-race", 1000, 50, 50);
        Map<String, Object> pool = Api.pool("race", "floating", 100, 0, 100, "sim-race", List.of("/engineering"));
        Api.createPool(pool);
        await("100 ready desktops", Duration.ofSeconds(60), () -> Api.desktopsIn("race", "READY") == 100);

        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            tokens.add(Tokens.user("racer-" + i, "/engineering"));
        }
        List<Response> responses = concurrently(tokens, t -> Api.requestDesktop(t, "race"));

        Map<Integer, Integer> byStatus = new HashMap<>();
        Set<String> desktops = new HashSet<>();
        for (Response r : responses) {
            byStatus.merge(r.statusCode(), 1, Integer::sum);
            if (r.statusCode() == 200) {
                assertThat(r.jsonPath().getString("state")).isEqualTo("READY");
                assertThat(desktops.add(r.jsonPath().getString("desktopId"))).as("desktop handed out twice").isTrue();
                assertThat(r.jsonPath().getString("connection.ticket")).isNotBlank();
            } else {
                assertThat(r.statusCode()).isEqualTo(202);
                assertThat(r.jsonPath().getInt("queuePosition")).isPositive();
                assertThat(r.header("Location")).contains("/api/v1/me/sessions/");
            }
        }
        // a request answers 202 when others ahead of it may take the remaining desktops; the pool manager then
        // hands those to the head of the queue within a tick. Settled: exactly 100 have one, 100 wait.
        assertThat(byStatus.getOrDefault(200, 0)).isLessThanOrEqualTo(100);
        assertThat(byStatus.getOrDefault(200, 0) + byStatus.getOrDefault(202, 0)).isEqualTo(200);
        await("all 100 desktops assigned", Duration.ofSeconds(20), () -> Api.desktopsIn("race", "ASSIGNED") == 100);
        Thread.sleep(1500); // another pool manager tick: nothing more may be handed out
        assertThat(Api.desktopsIn("race", "ASSIGNED")).isEqualTo(100);
        assertThat(Api.desktops("race")).hasSize(100);
        Set<Integer> positions = new HashSet<>();
        Map<String, Integer> positionOf = new HashMap<>();
        int waiting = 0;
        for (String token : tokens) {
            Map<String, Object> mine = given().auth().oauth2(token).get("/api/v1/me/sessions").then().statusCode(200)
                    .extract().jsonPath().getMap("[0]");
            if ("QUEUED".equals(mine.get("state"))) {
                waiting++;
                assertThat(positions.add((Integer) mine.get("queuePosition"))).isTrue();
                positionOf.put(token, (Integer) mine.get("queuePosition"));
            } else {
                assertThat(mine.get("state")).isEqualTo("READY");
            }
        }
        assertThat(waiting).isEqualTo(100);
        assertThat(positions).hasSize(100).allMatch(p -> p >= 1 && p <= 100);
        assertNoDesktopHeldTwice("race");

        // the pool grows by half the queue: exactly the first 50 in the queue are served, the others move up
        Api.updatePool("race", withSizes(pool, 150, 0, 150));
        await("50 more desktops assigned", Duration.ofSeconds(60), () -> Api.desktopsIn("race", "ASSIGNED") == 150);
        for (Map.Entry<String, Integer> e : positionOf.entrySet()) {
            Map<String, Object> mine = given().auth().oauth2(e.getKey()).get("/api/v1/me/sessions").then()
                    .statusCode(200).extract().jsonPath().getMap("[0]");
            if (e.getValue() <= 50) {
                assertThat(mine.get("state")).as("position " + e.getValue()).isEqualTo("READY");
            } else {
                assertThat(mine.get("state")).as("position " + e.getValue()).isEqualTo("QUEUED");
                assertThat(mine.get("queuePosition")).isEqualTo(e.getValue() - 50);
            }
        }

        // the pool grows again: the rest get desktops, and still nobody shares one
        Api.updatePool("race", withSizes(pool, 200, 0, 200));
        await("every queued user served", Duration.ofSeconds(60),
                () -> Api.desktops("race").stream().filter(d -> "ASSIGNED".equals(d.get("state"))).count() == 200);
        Set<String> all = new HashSet<>();
        for (String token : tokens) {
            List<Map<String, Object>> mine = given().auth().oauth2(token).get("/api/v1/me/sessions").then()
                    .statusCode(200).extract().jsonPath().getList("$");
            assertThat(mine).hasSize(1);
            assertThat(mine.get(0).get("state")).isEqualTo("READY");
            assertThat(all.add((String) mine.get(0).get("desktopId"))).isTrue();
        }
        assertNoDesktopHeldTwice("race");
    }

    @Test
    void oneUserAskingManyTimesAtOnceGetsOneSession() throws Exception {
        Api.simulator("sim-same", 100, 50, 50);
        Api.createPool(Api.pool("same-user", "floating", 2, 1, 5, "sim-same", List.of("/engineering")));
        await("ready desktops", Duration.ofSeconds(30), () -> Api.desktopsIn("same-user", "READY") >= 2);
        String token = Tokens.user("eager", "/engineering");
        List<String> sameToken = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            sameToken.add(token);
        }
        List<Response> responses = concurrently(sameToken, t -> Api.requestDesktop(t, "same-user"));
        Set<String> sessions = new HashSet<>();
        for (Response r : responses) {
            assertThat(r.statusCode()).isIn(200, 202);
            sessions.add(r.jsonPath().getString("id"));
        }
        assertThat(sessions).hasSize(1);
        // a request that claimed a desktop for a session it could not publish gave it back before answering
        assertThat(Api.desktopsIn("same-user", "ASSIGNED")).isEqualTo(1);
        assertNoDesktopHeldTwice("same-user");
        assertThat(given().auth().oauth2(token).get("/api/v1/me/sessions").then().extract().jsonPath()
                .getList("$")).hasSize(1);
    }

    @Test
    void idempotencyKeyReturnsTheSameSession() {
        Api.simulator("sim-idem", 100, 50, 50);
        Api.createPool(Api.pool("idem", "floating", 1, 1, 5, "sim-idem", List.of("/engineering")));
        String token = Tokens.user("careful", "/engineering");
        String first = given().auth().oauth2(token).header("Idempotency-Key", "k-1").contentType("application/json")
                .body("{}").post("/api/v1/me/pools/idem/desktop").then().extract().jsonPath().getString("id");
        String again = given().auth().oauth2(token).header("Idempotency-Key", "k-1").contentType("application/json")
                .body("{}").post("/api/v1/me/pools/idem/desktop").then().extract().jsonPath().getString("id");
        assertThat(again).isEqualTo(first);
    }

    static Map<String, Object> withSizes(Map<String, Object> pool, int min, int spare, int max) {
        Map<String, Object> changed = new HashMap<>(pool);
        changed.put("minSize", min);
        changed.put("spare", spare);
        changed.put("maxSize", max);
        return changed;
    }

    static void assertNoDesktopHeldTwice(String poolId) {
        Set<String> sessions = new HashSet<>();
        for (Map<String, Object> d : Api.desktops(poolId)) {
            Object session = d.get("sessionId");
            if (session != null) {
                assertThat(sessions.add((String) session)).as("session holds two desktops").isTrue();
            }
        }
    }

    static <T> List<Response> concurrently(List<T> inputs, java.util.function.Function<T, Response> call)
            throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(50);
        try {
            List<Future<Response>> futures = new ArrayList<>();
            for (T input : inputs) {
                futures.add(pool.submit((Callable<Response>) () -> call.apply(input)));
            }
            List<Response> responses = new ArrayList<>();
            for (Future<Response> f : futures) {
                responses.add(f.get());
            }
            return responses;
        } finally {
            pool.shutdownNow();
        }
    }
}
