package org.vdibroker.security;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
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
                r.then().statusCode(429).contentType(PROBLEM)
                        .header("Retry-After", org.hamcrest.Matchers.notNullValue())
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
     * Chunked bodies (no Content-Length) past the limit are refused with 413 problem+json. Sent over a raw socket so
     * the body is truly chunked (HTTP clients may buffer a stream and send a Content-Length instead).
     */
    @Test
    void chunkedBodiesPastTheLimitGet413ProblemJson() throws Exception {
        String answer = postChunked(100_000);
        assertThat(answer).startsWith("HTTP/1.1 413").contains(PROBLEM).contains("payload-too-large");
        assertThat(postChunked(1_000)).as("a small chunked body is served").startsWith("HTTP/1.1 20");
    }

    /**
     * Far past the HTTP layer's cap the server stops the upload itself: it answers 413 (without a problem body) and
     * closes, so the client may see its write fail instead. Either way the request is never served.
     */
    @Test
    void chunkedBodiesPastTheHttpCapAreNeverServed() throws Exception {
        String answer;
        try {
            answer = postChunked(2_000_000);
        } catch (java.net.SocketException e) { // reset while uploading: the server refused the rest
            answer = "closed: " + e.getMessage();
        }
        assertThat(answer).doesNotStartWith("HTTP/1.1 2");
    }

    /** Posts a desktop request whose JSON body has {@code padding} bytes of padding, chunked; returns the answer. */
    private String postChunked(int padding) throws Exception {
        session(); // the pool exists and carol may ask for a desktop of it
        byte[] body = ("{\"protocol\":\"rdp\",\"pad\":\"" + "x".repeat(padding) + "\"}").getBytes(
                java.nio.charset.StandardCharsets.US_ASCII);
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", io.restassured.RestAssured.port)) {
            socket.setSoTimeout(20_000);
            var out = socket.getOutputStream();
            out.write(("POST /api/v1/me/pools/hardening/desktop HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Authorization: Bearer " + CAROL + "\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").getBytes(
                            java.nio.charset.StandardCharsets.US_ASCII));
            for (int offset = 0; offset < body.length; offset += 8192) {
                int size = Math.min(8192, body.length - offset);
                out.write((Integer.toHexString(size) + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                out.write(body, offset, size);
                out.write("\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
            out.write("0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.flush();
            return new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
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
