package org.vdibroker.security;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.vdibroker.access.IdempotencyKeys;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/** The hardening items one by one: tickets, idempotency bounds, body limits, headers, deny by default. */
@QuarkusTest
class SecurityHardeningTest {

    static final String PROBLEM = "application/problem+json";
    static final String CAROL = Tokens.user("carol-h", "/engineering");
    static final String GATEWAY = Tokens.gateway("rd-gateway-h");

    @Inject
    IdempotencyKeys idempotencyKeys;

    private String session() {
        if (given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/hardening").statusCode() == 404) {
            Api.simulator("sim-hardening", 10, 50, 50);
            Api.createPool(Api.pool("hardening", "floating", 1, 1, 5, "sim-hardening", List.of("/engineering")));
        }
        Api.await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("hardening", "READY") >= 1
                || !given().auth().oauth2(CAROL).get("/api/v1/me/sessions").jsonPath().getList("$").isEmpty());
        return Api.requestDesktop(CAROL, "hardening").then().statusCode(200).extract().path("id");
    }

    private String ticket(String sessionId) {
        return given().auth().oauth2(CAROL).post("/api/v1/me/sessions/" + sessionId + "/connection").then()
                .statusCode(200).extract().path("ticket");
    }

    private io.restassured.response.Response redeem(String token, String ticket) {
        return given().auth().oauth2(token).contentType(ContentType.JSON).body(Map.of("ticket", ticket))
                .post("/api/v1/gateway/tickets/redeem");
    }

    @Test
    void aRedeemedTicketCannotBeRedeemedAgain() {
        String sessionId = session();
        String ticket = ticket(sessionId);
        // users cannot burn tickets, not even their own
        redeem(CAROL, ticket).then().statusCode(403).contentType(PROBLEM);
        given().contentType(ContentType.JSON).body(Map.of("ticket", ticket)).post("/api/v1/gateway/tickets/redeem")
                .then().statusCode(401);
        redeem(GATEWAY, ticket).then().statusCode(200).body("sessionId", equalTo(sessionId))
                .body("user", equalTo("carol-h"));
        redeem(GATEWAY, ticket).then().statusCode(404).contentType(PROBLEM)
                .body("type", containsString("ticket-not-valid"));
        redeem(GATEWAY, "not-a-ticket").then().statusCode(404).contentType(PROBLEM);
        given().auth().oauth2(GATEWAY).contentType(ContentType.JSON).body("{\"ticket\":\"" + "x".repeat(500) + "\"}")
                .post("/api/v1/gateway/tickets/redeem").then().statusCode(400).contentType(PROBLEM);
    }

    @Test
    void aUserRemovedFromThePoolsGroupGetsNoNewConnection() {
        String sessionId = session();
        ticket(sessionId); // entitled: fine
        // the same user after an admin removed them from /engineering: their next token lacks the group
        String removed = Tokens.user("carol-h", "/sales");
        for (String path : List.of("/connection", "/connection.rdp", "/connection.vv")) {
            var request = given().auth().oauth2(removed);
            (path.equals("/connection") ? request.post("/api/v1/me/sessions/" + sessionId + path)
                    : request.accept("application/json").get("/api/v1/me/sessions/" + sessionId + path)).then()
                    .statusCode(403).contentType(PROBLEM).body("type", containsString("not-entitled"));
        }
        Api.requestDesktop(removed, "hardening").then().statusCode(403).contentType(PROBLEM);
    }

    private String sessionOf(String token) {
        session(); // pool exists
        String[] id = new String[1];
        Api.await("a desktop", Duration.ofSeconds(30), () -> {
            var r = Api.requestDesktop(token, "hardening");
            id[0] = r.path("id");
            return r.statusCode() == 200;
        });
        return id[0];
    }

    @Test
    void aFloodOfTicketRequestsFromOneUserIsLimitedWithoutStarvingOthers() {
        String dave = Tokens.user("dave-h", "/engineering");
        String erin = Tokens.user("erin-h", "/engineering");
        String daves = sessionOf(dave);
        String erins = sessionOf(erin);
        int ok = 0;
        int limited = 0;
        for (int i = 0; i < 80; i++) {
            var r = given().auth().oauth2(dave).post("/api/v1/me/sessions/" + daves + "/connection");
            if (r.statusCode() == 200) {
                ok++;
            } else {
                r.then().statusCode(429).contentType(PROBLEM).header("Retry-After", org.hamcrest.Matchers.notNullValue())
                        .body("type", containsString("too-many-requests"));
                limited++;
            }
        }
        assertThat(ok).isEqualTo(60); // broker.requests.per-user.tickets
        assertThat(limited).isEqualTo(20);
        given().auth().oauth2(erin).post("/api/v1/me/sessions/" + erins + "/connection").then().statusCode(200);
    }

    @Test
    void concurrentRedeemsLetExactlyOneWin() throws Exception {
        String sessionId = session();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            for (int round = 0; round < 5; round++) {
                String ticket = ticket(sessionId);
                List<Callable<Integer>> calls = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    calls.add(() -> redeem(GATEWAY, ticket).statusCode());
                }
                List<Integer> statuses = new ArrayList<>();
                for (Future<Integer> f : pool.invokeAll(calls)) {
                    statuses.add(f.get());
                }
                assertThat(statuses).filteredOn(s -> s == 200).hasSize(1);
                assertThat(statuses).filteredOn(s -> s == 404).hasSize(7);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void tenThousandIdempotencyKeysStayBounded() {
        for (int i = 0; i < 10_000; i++) {
            idempotencyKeys.remember("flooder", "key-" + i, "session-" + i);
        }
        assertThat(idempotencyKeys.count("flooder")).isEqualTo(20);
        assertThat(idempotencyKeys.sessionOf("flooder", "key-9999")).contains("session-9999");
        assertThat(idempotencyKeys.sessionOf("flooder", "key-0")).isEmpty();
        assertThat(idempotencyKeys.count("someone-else")).isZero();
    }

    @Test
    void anIdempotencyKeyReplaysThroughTheApi() {
        String first = session();
        String replay = given().auth().oauth2(CAROL).header("Idempotency-Key", "k-1").contentType(ContentType.JSON)
                .body("{}").post("/api/v1/me/pools/hardening/desktop").then().statusCode(200).extract().path("id");
        assertThat(replay).isEqualTo(first);
    }

    /**
     * Chunked bodies (no Content-Length) past the limit are refused with 413. Known gap (security.md): that 413 comes
     * from the HTTP layer with an empty body, not as problem+json.
     */
    @Test
    void chunkedBodiesPastTheLimitGet413() {
        for (int size : new int[] { 100_000, 2_000_000 }) {
            byte[] body = ("{\"protocol\":\"rdp\",\"pad\":\"" + "x".repeat(size) + "\"}").getBytes();
            // an InputStream body has no known length: the client sends it chunked
            given().auth().oauth2(CAROL).contentType(ContentType.JSON).body(new ByteArrayInputStream(body))
                    .post("/api/v1/me/pools/hardening/desktop").then().statusCode(413);
        }
    }

    @Test
    void answersCarrySecurityHeadersAndNoCors() {
        given().auth().oauth2(CAROL).header("Origin", "https://evil.example").get("/api/v1/me/pools").then()
                .statusCode(200).header("X-Content-Type-Options", "nosniff").header("X-Frame-Options", "DENY")
                .header("Access-Control-Allow-Origin", org.hamcrest.Matchers.nullValue());
    }

    @Test
    void anEndpointWithoutSecurityAnnotationIsRefused() {
        given().get("/api/v1/test/unannotated").then().statusCode(401);
        given().auth().oauth2(Api.ADMIN).get("/api/v1/test/unannotated").then().statusCode(403)
                .contentType(PROBLEM);
    }
}
