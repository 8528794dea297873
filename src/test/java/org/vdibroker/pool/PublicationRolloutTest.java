package org.vdibroker.pool;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * A new publication rolls out: ready desktops are replaced first, those in use only after their users log off, and
 * no session ever loses its desktop.
 */
@QuarkusTest
class PublicationRolloutTest {

    @Test
    void readyDesktopsMoveAtOnceAndDesktopsInUseAfterLogoff() {
        Api.simulator("sim-rollout", 20, 300, 300);
        Api.createPool(Api.pool("rollout", "floating", 6, 0, 6, "sim-rollout", List.of("/engineering")));
        await("6 ready desktops", Duration.ofSeconds(30), () -> Api.desktopsIn("rollout", "READY") == 6);
        Map<String, String> held = new LinkedHashMap<>(); // session -> desktop
        Map<String, String> tokens = new LinkedHashMap<>(); // session -> token
        for (int i = 0; i < 3; i++) {
            String token = Tokens.user("roller-" + i, "/engineering");
            JsonPath got = Api.requestDesktop(token, "rollout").then().statusCode(200).extract().jsonPath();
            held.put(got.getString("id"), got.getString("desktopId"));
            tokens.put(got.getString("id"), token);
        }

        JsonPath published = given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body("{\"templates\":[{\"hypervisorId\":\"sim-rollout\",\"templateRef\":\"tmpl-rollout-v2\"}]}")
                .post("/api/v1/admin/pools/rollout/publish").then().statusCode(200).extract().jsonPath();
        assertThat(published.getInt("templates[0].publication")).isEqualTo(2);
        assertThat(published.getString("templates[0].templateRef")).isEqualTo("tmpl-rollout-v2");

        // the three spare desktops move to publication 2; the three in use stay as they are the whole time
        Instant deadline = Instant.now().plusSeconds(30);
        while (readyOn("rollout", 2) < 3) {
            assertThat(Instant.now()).as("spares replaced in time").isBefore(deadline);
            assertUntouched(held, 1);
            assertThat(Api.desktops("rollout").stream().filter(d -> !"RETIRING".equals(d.get("state"))).count())
                    .as("never above max").isLessThanOrEqualTo(6);
            sleep(100);
        }
        assertUntouched(held, 1);
        assertThat(readyOn("rollout", 1)).isZero();

        // a new user now gets the new publication
        String newcomer = Tokens.user("newcomer", "/engineering");
        JsonPath fresh = Api.requestDesktop(newcomer, "rollout").then().statusCode(200).extract().jsonPath();
        assertThat(Api.desktop("rollout", fresh.getString("desktopId")).get("publication")).isEqualTo(2);
        given().auth().oauth2(newcomer).post("/api/v1/me/sessions/" + fresh.getString("id") + "/logoff").then()
                .statusCode(200);

        // users log off one by one; the others keep their desktops meanwhile
        List<String> remaining = new ArrayList<>(held.keySet());
        for (String sessionId : held.keySet()) {
            given().auth().oauth2(tokens.get(sessionId)).post("/api/v1/me/sessions/" + sessionId + "/logoff").then()
                    .statusCode(200);
            remaining.remove(sessionId);
            String old = held.get(sessionId);
            assertThat(Api.desktops("rollout").stream().filter(d -> old.equals(d.get("id")))
                    .map(d -> d.get("state")).toList()).as("the old desktop is retired, not refreshed")
                    .allMatch("RETIRING"::equals);
            Map<String, String> stillHeld = new LinkedHashMap<>(held);
            stillHeld.keySet().retainAll(remaining);
            assertUntouched(stillHeld, 1);
        }
        await("every desktop on publication 2", Duration.ofSeconds(30),
                () -> Api.desktops("rollout").stream().allMatch(d -> Integer.valueOf(2).equals(d.get("publication")))
                        && Api.desktopsIn("rollout", "READY") == 6);
        // an abandoned publication is gone from the inventory too
        sleep(1500);
        assertThat(Api.desktops("rollout")).hasSize(6).allMatch(d -> Integer.valueOf(2).equals(d.get("publication")));
    }

    @Test
    void aDedicatedDesktopKeepsItsOwnerAndPublication() {
        Api.simulator("sim-rollout-dedicated", 20, 100, 100);
        Api.createPool(Api.pool("rollout-dedicated", "dedicated", 3, 0, 3, "sim-rollout-dedicated",
                List.of("/engineering")));
        await("3 ready desktops", Duration.ofSeconds(30), () -> Api.desktopsIn("rollout-dedicated", "READY") == 3);
        String owner = Tokens.user("keeper", "/engineering");
        JsonPath mine = Api.requestDesktop(owner, "rollout-dedicated").then().statusCode(200).extract().jsonPath();
        String desktopId = mine.getString("desktopId");
        given().auth().oauth2(owner).post("/api/v1/me/sessions/" + mine.getString("id") + "/logoff").then()
                .statusCode(200);

        // no body (nor content type): every template gets a new publication of the same reference
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/pools/rollout-dedicated/publish")
                .then().statusCode(200).body("templates[0].publication", org.hamcrest.Matchers.equalTo(2))
                .body("templates[0].templateRef", org.hamcrest.Matchers.equalTo("tmpl-rollout-dedicated"));
        await("unowned desktops replaced", Duration.ofSeconds(30), () -> readyOn("rollout-dedicated", 2) == 2);
        Map<String, Object> kept = Api.desktop("rollout-dedicated", desktopId);
        assertThat(kept.get("owner")).isEqualTo("keeper");
        assertThat(kept.get("publication")).isEqualTo(1);
        assertThat(Api.requestDesktop(owner, "rollout-dedicated").then().statusCode(200).extract().jsonPath()
                .getString("desktopId")).isEqualTo(desktopId);
    }

    @Test
    void badPublicationsAreRefused() {
        Api.simulator("sim-rollout-bad", 5, 50, 50);
        Api.createPool(Api.pool("rollout-bad", "floating", 0, 0, 1, "sim-rollout-bad", List.of("/engineering")));
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body("{\"templates\":[{\"hypervisorId\":\"nowhere\"}]}")
                .post("/api/v1/admin/pools/rollout-bad/publish").then().statusCode(400)
                .contentType("application/problem+json").body("errors.templates",
                        org.hamcrest.Matchers.containsString("nowhere"));
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON).body("{\"templates\":[]}")
                .post("/api/v1/admin/pools/rollout-bad/publish").then().statusCode(400)
                .contentType("application/problem+json");
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body("{\"templates\":[{\"hypervisorId\":\"sim-rollout-bad\",\"templateRef\":\"\"}]}")
                .post("/api/v1/admin/pools/rollout-bad/publish").then().statusCode(400)
                .contentType("application/problem+json");
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON).body("{}")
                .post("/api/v1/admin/pools/no-such-pool/publish").then().statusCode(404)
                .contentType("application/problem+json");
        given().auth().oauth2(Tokens.user("sneaky", "/engineering")).contentType(ContentType.JSON).body("{}")
                .post("/api/v1/admin/pools/rollout-bad/publish").then().statusCode(403);
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/rollout-bad").then().statusCode(200)
                .body("templates[0].publication", org.hamcrest.Matchers.equalTo(1));
    }

    /** Each session still holds its desktop, which is still of {@code publication}. */
    static void assertUntouched(Map<String, String> held, int publication) {
        for (Map.Entry<String, String> e : held.entrySet()) {
            Map<String, Object> d = Api.desktop("rollout", e.getValue());
            assertThat(d.get("sessionId")).as("desktop " + e.getValue() + " still held by its session")
                    .isEqualTo(e.getKey());
            assertThat(d.get("publication")).isEqualTo(publication);
        }
    }

    static long readyOn(String poolId, int publication) {
        return Api.desktops(poolId).stream().filter(d -> "READY".equals(d.get("state"))
                && Integer.valueOf(publication).equals(d.get("publication"))).count();
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
