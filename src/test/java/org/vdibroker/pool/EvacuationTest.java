package org.vdibroker.pool;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * Evacuating a hypervisor moves a pool to its other hypervisors: spares are replaced there first and the pool never
 * drops below its spare count, desktops in use move only after their users log off (no session ends), dedicated
 * desktops stay with their owners until recycled, and the emptied hypervisor can be deleted. Two in-process
 * simulators stand for the two hypervisors.
 */
@QuarkusTest
class EvacuationTest {

    static Map<String, Object> twoHypervisorPool(String id, String assignment, int min, int spare, int max,
            String from, String to) {
        Map<String, Object> pool = new LinkedHashMap<>(Api.pool(id, assignment, min, spare, max, from,
                List.of("/engineering")));
        pool.put("templates", List.of(Map.of("hypervisorId", from, "templateRef", "tmpl-" + id + "-a"),
                Map.of("hypervisorId", to, "templateRef", "tmpl-" + id + "-b")));
        return pool;
    }

    static void maintenance(String hypervisor, boolean on) {
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/hypervisors/" + hypervisor + "/maintenance?enabled=" + on)
                .then().statusCode(200);
    }

    static long on(String poolId, String hypervisor) {
        return Api.desktops(poolId).stream().filter(d -> hypervisor.equals(d.get("hypervisorId"))).count();
    }

    static long readySpares(String poolId) {
        return Api.desktops(poolId).stream().filter(d -> "READY".equals(d.get("state")) && d.get("owner") == null)
                .count();
    }

    @Test
    void aFloatingPoolMovesWithoutEndingASessionOrDroppingBelowItsSpares() {
        Api.simulator("evac-a", 20, 100, 100);
        Api.simulator("evac-b", 20, 100, 100);
        maintenance("evac-b", true); // everything starts on evac-a
        Api.createPool(twoHypervisorPool("evac", "floating", 6, 2, 12, "evac-a", "evac-b"));
        await("6 ready desktops on evac-a", Duration.ofSeconds(30), () -> Api.desktopsIn("evac", "READY") == 6);
        Map<String, String> held = new LinkedHashMap<>(); // session -> desktop
        Map<String, String> tokens = new LinkedHashMap<>();
        for (int i = 0; i < 4; i++) {
            String token = Tokens.user("evac-user-" + i, "/engineering");
            JsonPath got = Api.requestDesktop(token, "evac").then().statusCode(200).extract().jsonPath();
            held.put(got.getString("id"), got.getString("desktopId"));
            tokens.put(got.getString("id"), token);
        }
        await("2 spares again", Duration.ofSeconds(30), () -> readySpares("evac") >= 2);
        assertThat(on("evac", "evac-b")).isZero();
        maintenance("evac-b", false);

        JsonPath started = given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/hypervisors/evac-a/evacuate").then()
                .statusCode(200).extract().jsonPath();
        assertThat(started.getBoolean("maintenance")).isTrue();
        assertThat(started.getInt("evacuation.inUse")).isEqualTo(4);
        assertThat(started.getBoolean("evacuation.done")).isFalse();

        // the spares move to evac-b; the desktops in use stay where they are, held by their sessions
        Instant deadline = Instant.now().plusSeconds(40);
        while (Api.desktops("evac").stream().anyMatch(d -> "evac-a".equals(d.get("hypervisorId"))
                && d.get("sessionId") == null)) {
            assertThat(Instant.now()).as("spares moved in time").isBefore(deadline);
            assertThat(readySpares("evac")).as("never below the spare count").isGreaterThanOrEqualTo(2);
            assertHeld(held);
            sleep(50);
        }
        assertHeld(held);
        assertThat(readySpares("evac")).isGreaterThanOrEqualTo(2);
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/hypervisors/evac-a").then().statusCode(200)
                .body("evacuation.desktopsLeft", org.hamcrest.Matchers.equalTo(4))
                .body("evacuation.inUse", org.hamcrest.Matchers.equalTo(4));
        // no new desktop is made there meanwhile, and it cannot be deleted yet
        given().auth().oauth2(Api.ADMIN).delete("/api/v1/admin/hypervisors/evac-a").then().statusCode(409)
                .contentType("application/problem+json");

        // users log off: their desktops are retired, not refreshed, and replaced on evac-b
        for (Map.Entry<String, String> s : held.entrySet()) {
            given().auth().oauth2(tokens.get(s.getKey())).post("/api/v1/me/sessions/" + s.getKey() + "/logoff")
                    .then().statusCode(200);
            assertThat(Api.desktops("evac").stream().filter(d -> s.getValue().equals(d.get("id")))
                    .map(d -> d.get("state")).toList()).allMatch("RETIRING"::equals);
        }
        await("every desktop on evac-b", Duration.ofSeconds(40),
                () -> on("evac", "evac-a") == 0 && Api.desktopsIn("evac", "READY") >= 6);
        await("the evacuation reports done", Duration.ofSeconds(20), () -> given().auth().oauth2(Api.ADMIN)
                .get("/api/v1/admin/hypervisors/evac-a").then().extract().jsonPath().getBoolean("evacuation.done"));
        // the evacuation's progress is audited by a background round (every 2 s) and reaches the database through
        // the outbox, after the live state shows done
        List<String> expected = List.of("hypervisor.evacuation-started", "hypervisor.evacuation-progress",
                "hypervisor.evacuated", "desktop.evacuated");
        await("the evacuation in the audit trail", Duration.ofSeconds(20), () -> given().auth().oauth2(Api.ADMIN)
                .get("/api/v1/admin/audit?size=500").then().statusCode(200).extract().jsonPath().<String>getList("kind")
                .containsAll(expected));

        // empty: it can be deleted, and the pool's template there goes with it
        given().auth().oauth2(Api.ADMIN).delete("/api/v1/admin/hypervisors/evac-a").then().statusCode(204);
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/evac").then().statusCode(200)
                .body("templates.hypervisorId", org.hamcrest.Matchers.contains("evac-b"));
    }

    @Test
    void dedicatedDesktopsStayWithTheirOwnersUntilRecycled() {
        Api.simulator("evac-ded-a", 20, 100, 100);
        Api.simulator("evac-ded-b", 20, 100, 100);
        maintenance("evac-ded-b", true);
        Api.createPool(twoHypervisorPool("evac-ded", "dedicated", 3, 1, 6, "evac-ded-a", "evac-ded-b"));
        await("3 ready desktops", Duration.ofSeconds(30), () -> Api.desktopsIn("evac-ded", "READY") == 3);
        String alice = Tokens.user("ded-alice", "/engineering");
        String bob = Tokens.user("ded-bob", "/engineering");
        JsonPath aliceGot = Api.requestDesktop(alice, "evac-ded").then().statusCode(200).extract().jsonPath();
        JsonPath bobGot = Api.requestDesktop(bob, "evac-ded").then().statusCode(200).extract().jsonPath();
        String aliceDesktop = aliceGot.getString("desktopId");
        String bobDesktop = bobGot.getString("desktopId");
        given().auth().oauth2(alice).post("/api/v1/me/sessions/" + aliceGot.getString("id") + "/logoff").then()
                .statusCode(200);
        maintenance("evac-ded-b", false);

        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/hypervisors/evac-ded-a/evacuate").then()
                .statusCode(200);
        await("the unowned spare moved", Duration.ofSeconds(30),
                () -> Api.desktops("evac-ded").stream().noneMatch(d -> "evac-ded-a".equals(d.get("hypervisorId"))
                        && d.get("owner") == null));
        // bob (logged on) and alice (logged off) keep their desktops; alice is listed as waiting
        JsonPath progress = given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/hypervisors/evac-ded-a").then()
                .statusCode(200).extract().jsonPath();
        assertThat(progress.getInt("evacuation.desktopsLeft")).isEqualTo(2);
        assertThat(progress.getInt("evacuation.inUse")).isEqualTo(1);
        assertThat(progress.getList("evacuation.waitingOwners.owner")).containsExactly("ded-alice");
        assertThat(Api.requestDesktop(alice, "evac-ded").then().statusCode(200).extract().jsonPath()
                .getString("desktopId")).isEqualTo(aliceDesktop);
        String aliceSession = given().auth().oauth2(alice).get("/api/v1/me/sessions").then().extract().jsonPath()
                .getString("[0].id");
        given().auth().oauth2(alice).post("/api/v1/me/sessions/" + aliceSession + "/logoff").then().statusCode(200);
        given().auth().oauth2(bob).post("/api/v1/me/sessions/" + bobGot.getString("id") + "/logoff").then()
                .statusCode(200);
        sleep(1500);
        assertThat(Api.desktop("evac-ded", bobDesktop).get("owner")).as("bob keeps his desktop after logoff")
                .isEqualTo("ded-bob");

        // the admin recycles alice's desktop: she gets a new one on evac-ded-b
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/desktops/" + aliceDesktop + "/recycle").then()
                .statusCode(200);
        await("alice's old desktop retired", Duration.ofSeconds(30), () -> Api.desktops("evac-ded").stream()
                .noneMatch(d -> aliceDesktop.equals(d.get("id")) && !"RETIRING".equals(d.get("state"))));
        await("a ready desktop for alice", Duration.ofSeconds(30), () -> readySpares("evac-ded") >= 1);
        String fresh = Api.requestDesktop(alice, "evac-ded").then().statusCode(200).extract().jsonPath()
                .getString("desktopId");
        assertThat(fresh).isNotEqualTo(aliceDesktop);
        assertThat(Api.desktop("evac-ded", fresh).get("hypervisorId")).isEqualTo("evac-ded-b");
        assertThat(Api.desktop("evac-ded", bobDesktop).get("hypervisorId")).isEqualTo("evac-ded-a");
    }

    @Test
    void evacuationIsForAdminsAndCanBeUndone() {
        Api.simulator("evac-undo", 5, 50, 50);
        given().post("/api/v1/admin/hypervisors/evac-undo/evacuate").then().statusCode(401);
        given().auth().oauth2(Tokens.user("nosy", "/engineering")).post("/api/v1/admin/hypervisors/evac-undo/evacuate")
                .then().statusCode(403);
        given().auth().oauth2(Tokens.user("nosy", "/engineering"))
                .delete("/api/v1/admin/hypervisors/evac-undo/evacuate").then().statusCode(403);
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/hypervisors/no-such-hv/evacuate").then().statusCode(404)
                .contentType("application/problem+json");
        given().auth().oauth2(Api.ADMIN).delete("/api/v1/admin/hypervisors/evac-undo/evacuate").then()
                .statusCode(404).contentType("application/problem+json")
                .body("type", org.hamcrest.Matchers.endsWith("not-evacuating"));

        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/hypervisors/evac-undo/evacuate").then().statusCode(200)
                .body("maintenance", org.hamcrest.Matchers.equalTo(true))
                .body("evacuation.done", org.hamcrest.Matchers.equalTo(true));
        // repeating it changes nothing
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/hypervisors/evac-undo/evacuate").then().statusCode(200);
        given().auth().oauth2(Api.ADMIN).delete("/api/v1/admin/hypervisors/evac-undo/evacuate").then()
                .statusCode(200).body("maintenance", org.hamcrest.Matchers.equalTo(false))
                .body("evacuation", org.hamcrest.Matchers.nullValue());
        List<String> kinds = given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/audit?size=500").then()
                .extract().jsonPath().getList("kind");
        assertThat(kinds).contains("hypervisor.evacuation-cancelled");
    }

    private static void assertHeld(Map<String, String> held) {
        for (Map.Entry<String, String> e : held.entrySet()) {
            Map<String, Object> d = Api.desktop("evac", e.getValue());
            assertThat(d.get("sessionId")).as("desktop " + e.getValue() + " still held by its session")
                    .isEqualTo(e.getKey());
            assertThat(d.get("hypervisorId")).isEqualTo("evac-a");
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
