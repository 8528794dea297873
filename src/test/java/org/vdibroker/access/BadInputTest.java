package org.vdibroker.access;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.not;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/** Every kind of bad request gets a clear problem+json answer with the right status, never a 500. */
@QuarkusTest
class BadInputTest {

    static final String PROBLEM = "application/problem+json";
    static final String ALICE = Tokens.user("alice", "/engineering");
    static final String BOB = Tokens.user("bob", "/sales");

    @BeforeEach
    void pool() {
        if (given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/bad-input").statusCode() == 404) {
            Api.simulator("sim-bad", 10, 50, 50);
            Api.createPool(Api.pool("bad-input", "floating", 1, 1, 2, "sim-bad", List.of("/engineering")));
        }
    }

    @Test
    void unknownPoolIs404() {
        Api.requestDesktop(ALICE, "no-such-pool").then().statusCode(404).contentType(PROBLEM)
                .body("type", containsString("not-found")).body("status", equalTo(404));
    }

    @Test
    void poolTheUserIsNotEntitledToIs403() {
        Api.requestDesktop(BOB, "bad-input").then().statusCode(403).contentType(PROBLEM)
                .body("type", containsString("not-entitled"));
        given().auth().oauth2(BOB).get("/api/v1/me/pools").then().statusCode(200)
                .body("id", not(org.hamcrest.Matchers.hasItem("bad-input")));
    }

    @Test
    void malformedJsonIs400() {
        given().auth().oauth2(ALICE).contentType(ContentType.JSON).body("{\"protocol\": ")
                .post("/api/v1/me/pools/bad-input/desktop").then().statusCode(400).contentType(PROBLEM)
                .body("type", containsString("malformed-json"));
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON).body("[1,2")
                .post("/api/v1/admin/pools").then().statusCode(400).contentType(PROBLEM);
    }

    @Test
    void unknownProtocolIs400() {
        given().auth().oauth2(ALICE).contentType(ContentType.JSON).body("{\"protocol\":\"telnet\"}")
                .post("/api/v1/me/pools/bad-input/desktop").then().statusCode(400).contentType(PROBLEM);
    }

    @Test
    void oversizedBodyIs413() {
        String huge = "{\"protocol\":\"rdp\",\"pad\":\"" + "x".repeat(70_000) + "\"}";
        given().auth().oauth2(ALICE).contentType(ContentType.JSON).body(huge)
                .post("/api/v1/me/pools/bad-input/desktop").then().statusCode(413).contentType(PROBLEM);
    }

    @Test
    void invalidIdsAre400() {
        Api.requestDesktop(ALICE, "Bad_Pool!").then().statusCode(400).contentType(PROBLEM)
                .body("type", containsString("invalid-id"));
        given().auth().oauth2(ALICE).get("/api/v1/me/sessions/not-a-uuid").then().statusCode(400)
                .contentType(PROBLEM);
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/desktops/xyz/recycle").then().statusCode(400)
                .contentType(PROBLEM);
    }

    @Test
    void anotherUsersSessionIs404() {
        String carol = Tokens.user("carol", "/engineering");
        String id = Api.requestDesktop(carol, "bad-input").then().extract().jsonPath().getString("id");
        given().auth().oauth2(carol).get("/api/v1/me/sessions/" + id).then().statusCode(200);
        String mallory = Tokens.user("mallory", "/engineering");
        given().auth().oauth2(mallory).get("/api/v1/me/sessions/" + id).then().statusCode(404).contentType(PROBLEM);
        given().auth().oauth2(mallory).get("/api/v1/me/sessions/" + id + "/events").then().statusCode(404);
        given().auth().oauth2(mallory).post("/api/v1/me/sessions/" + id + "/connection").then().statusCode(404)
                .contentType(PROBLEM);
        given().auth().oauth2(mallory).get("/api/v1/me/sessions/" + id + "/connection.rdp").then().statusCode(404);
        given().auth().oauth2(mallory).get("/api/v1/me/sessions/" + id + "/connection.vv").then().statusCode(404);
        given().auth().oauth2(mallory).post("/api/v1/me/sessions/" + id + "/logoff").then().statusCode(404)
                .contentType(PROBLEM);
        // and it is still there for its owner
        given().auth().oauth2(carol).get("/api/v1/me/sessions/" + id).then().statusCode(200)
                .body("state", not(equalTo("ENDED")));
    }

    @Test
    void userOnTheAdminApiIs403() {
        for (String path : List.of("/api/v1/admin/hypervisors", "/api/v1/admin/pools", "/api/v1/admin/sessions",
                "/api/v1/admin/audit", "/api/v1/admin/pools/bad-input/desktops")) {
            given().auth().oauth2(ALICE).get(path).then().statusCode(403).contentType(PROBLEM);
        }
        String someId = "00000000-0000-0000-0000-000000000000";
        for (String path : List.of("/api/v1/admin/hypervisors/sim-bad", "/api/v1/admin/pools/bad-input",
                "/api/v1/admin/desktops/" + someId)) {
            given().auth().oauth2(ALICE).get(path).then().statusCode(403).contentType(PROBLEM);
        }
        for (String path : List.of("/api/v1/admin/nodes/self/drain", "/api/v1/admin/hypervisors/sim-bad/maintenance",
                "/api/v1/admin/desktops/" + someId + "/recycle", "/api/v1/admin/sessions/" + someId + "/logoff")) {
            given().auth().oauth2(ALICE).post(path).then().statusCode(403).contentType(PROBLEM);
        }
        for (String path : List.of("/api/v1/admin/pools", "/api/v1/admin/hypervisors")) {
            given().auth().oauth2(ALICE).contentType(ContentType.JSON).body("{}").post(path).then().statusCode(403);
        }
        for (String path : List.of("/api/v1/admin/pools/bad-input", "/api/v1/admin/hypervisors/sim-bad")) {
            given().auth().oauth2(ALICE).contentType(ContentType.JSON).body("{}").put(path).then().statusCode(403);
            given().auth().oauth2(ALICE).delete(path).then().statusCode(403);
        }
        // and nothing was changed by those attempts
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/bad-input").then().statusCode(200);
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/hypervisors/sim-bad").then().statusCode(200)
                .body("maintenance", equalTo(false));
    }

    @Test
    void tokenWithoutTheUserRoleIs403() {
        given().auth().oauth2(Tokens.withoutRoles("nobody")).get("/api/v1/me/pools").then().statusCode(403)
                .contentType(PROBLEM);
    }

    @Test
    void noTokenOrABadOneIs401() {
        given().get("/api/v1/me/pools").then().statusCode(401).contentType(PROBLEM)
                .header("WWW-Authenticate", containsString("Bearer"));
        given().contentType(ContentType.JSON).body("{}").post("/api/v1/me/pools/bad-input/desktop").then()
                .statusCode(401);
        given().get("/api/v1/admin/pools").then().statusCode(401);
        given().auth().oauth2("not.a.token").get("/api/v1/me/pools").then().statusCode(401).contentType(PROBLEM);
        String expired = Tokens.token("late", Set.of("vdi-user"), Set.of("/engineering"),
                Instant.now().minusSeconds(3600));
        given().auth().oauth2(expired).get("/api/v1/me/pools").then().statusCode(401);
    }

    @Test
    void invalidPoolDefinitionsAre400WithTheOffendingField() {
        Map<String, Object> minAboveMax = new HashMap<>(Api.pool("bad-sizes", "floating", 5, 1, 2, "sim-bad",
                List.of("/engineering")));
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON).body(minAboveMax).post("/api/v1/admin/pools")
                .then().statusCode(400).contentType(PROBLEM).body("errors", hasKey("minSize"));

        Map<String, Object> unknownHypervisor = Api.pool("bad-hv", "floating", 0, 1, 2, "no-such-hypervisor",
                List.of("/engineering"));
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON).body(unknownHypervisor)
                .post("/api/v1/admin/pools").then().statusCode(400).contentType(PROBLEM)
                .body("errors.templates", containsString("unknown hypervisor"));

        Map<String, Object> negative = new HashMap<>(Api.pool("bad-neg", "floating", 0, -1, 2, "sim-bad",
                List.of("/engineering")));
        negative.put("maxSize", -3);
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON).body(negative).post("/api/v1/admin/pools")
                .then().statusCode(400).contentType(PROBLEM).body("errors", hasKey("spare"))
                .body("errors", hasKey("maxSize"));

        Map<String, Object> badAssignment = new HashMap<>(Api.pool("bad-assign", "sticky", 0, 1, 2, "sim-bad",
                List.of("/engineering")));
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON).body(badAssignment)
                .post("/api/v1/admin/pools").then().statusCode(400).contentType(PROBLEM)
                .body("errors", hasKey("assignment"));

        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/bad-sizes").then().statusCode(404)
                .contentType(PROBLEM);
    }

    @Test
    void invalidHypervisorDefinitionsAre400() {
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", "hv-x", "driver", "warp-drive", "capacity",
                        Map.of("vcpus", 1, "memoryMb", 1, "maxDesktops", 1)))
                .post("/api/v1/admin/hypervisors").then().statusCode(400).contentType(PROBLEM)
                .body("type", containsString("unknown-driver"));
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", "hv-y", "driver", "simulator", "config", Map.of("cloneLatencyMs", "-5"),
                        "capacity", Map.of("vcpus", 1, "memoryMb", 1, "maxDesktops", 1)))
                .post("/api/v1/admin/hypervisors").then().statusCode(400).contentType(PROBLEM);
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", "hv-z", "driver", "simulator",
                        "capacity", Map.of("vcpus", 0, "memoryMb", 1, "maxDesktops", 1)))
                .post("/api/v1/admin/hypervisors").then().statusCode(400).contentType(PROBLEM);
    }

    @Test
    void unknownPathIsAProblemToo() {
        given().auth().oauth2(ALICE).get("/api/v1/me/nothing-here").then().statusCode(404).contentType(PROBLEM);
    }
}
