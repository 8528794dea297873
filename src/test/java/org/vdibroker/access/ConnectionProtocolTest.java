package org.vdibroker.access;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.endsWith;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * The protocol of a connection is the user's choice among what the pool offers: each request may name another one,
 * files are offered only for protocols the pool has, and each refusal has its own problem type (simulated
 * hypervisor; the libvirt side, with a real guest and remote-viewer, is SpiceConsoleTest).
 */
@QuarkusTest
class ConnectionProtocolTest {

    @jakarta.inject.Inject
    org.vdibroker.hypervisor.simulator.SimulatorControl simulator;

    @Test
    void eachConnectionUsesTheProtocolAskedForAmongThoseThePoolOffers() {
        Api.simulator("sim-proto", 10, 50, 50);
        Map<String, Object> pool = new HashMap<>(Api.pool("proto", "floating", 1, 1, 2, "sim-proto",
                List.of("/engineering")));
        pool.put("protocols", List.of("spice", "vnc")); // no RDP in this pool
        Api.createPool(pool);
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("proto", "READY") >= 1);
        String token = Tokens.user("petra", "/engineering");
        JsonPath session = given().auth().oauth2(token).contentType(ContentType.JSON).body("{}")
                .post("/api/v1/me/pools/proto/desktop").then().statusCode(200).extract().jsonPath();
        String id = session.getString("id");
        assertThat(session.getString("connection.protocol")).isEqualTo("spice");
        assertThat(session.getMap("connection.files")).containsOnlyKeys("vv");

        JsonPath vnc = given().auth().oauth2(token).contentType(ContentType.JSON).body("{\"protocol\":\"vnc\"}")
                .post("/api/v1/me/sessions/" + id + "/connection").then().statusCode(200).extract().jsonPath();
        assertThat(vnc.getString("protocol")).isEqualTo("vnc");
        assertThat(vnc.getString("files.vv")).endsWith("/connection.vv?protocol=vnc");
        given().auth().oauth2(token).post("/api/v1/me/sessions/" + id + "/connection").then().statusCode(200)
                .body("protocol", org.hamcrest.Matchers.equalTo("spice")); // no body: the session's protocol
        // asking for the desktop again in another protocol answers in that one
        given().auth().oauth2(token).contentType(ContentType.JSON).body("{\"protocol\":\"vnc\"}")
                .post("/api/v1/me/pools/proto/desktop").then().statusCode(200)
                .body("id", org.hamcrest.Matchers.equalTo(id))
                .body("connection.protocol", org.hamcrest.Matchers.equalTo("vnc"));
        Response vv = given().auth().oauth2(token).get("/api/v1/me/sessions/" + id + "/connection.vv?protocol=vnc");
        vv.then().statusCode(200);
        assertThat(vv.asString()).contains("type=vnc");

        // the pool has no RDP: neither the file nor a connection, whatever the URL
        problem(given().auth().oauth2(token).get("/api/v1/me/sessions/" + id + "/connection.rdp"), 409,
                "protocol-not-offered");
        problem(given().auth().oauth2(token).contentType(ContentType.JSON).body("{\"protocol\":\"rdp\"}")
                .post("/api/v1/me/sessions/" + id + "/connection"), 409, "protocol-not-offered");
        problem(given().auth().oauth2(token).contentType(ContentType.JSON).body("{\"protocol\":\"x11\"}")
                .post("/api/v1/me/sessions/" + id + "/connection"), 400, "invalid-request");
        problem(given().auth().oauth2(token).get("/api/v1/me/sessions/" + id + "/connection.vv?protocol=rdp"), 400,
                "invalid-request");

        given().auth().oauth2(token).post("/api/v1/me/sessions/" + id + "/logoff").then().statusCode(200);
        problem(given().auth().oauth2(token).post("/api/v1/me/sessions/" + id + "/connection"), 409,
                "session-ended");
        problem(given().auth().oauth2(token).get("/api/v1/me/sessions/" + id + "/connection.vv"), 409,
                "session-ended");
    }

    @Test
    void aHypervisorThatDoesNotAnswerIsNamedAsSuch() {
        Api.simulator("sim-silent", 10, 50, 50);
        Api.createPool(Api.pool("silent", "floating", 1, 1, 2, "sim-silent", List.of("/engineering")));
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("silent", "READY") >= 1);
        String token = Tokens.user("sam", "/engineering");
        String id = given().auth().oauth2(token).contentType(ContentType.JSON).body("{\"protocol\":\"vnc\"}")
                .post("/api/v1/me/pools/silent/desktop").then().statusCode(200).extract().jsonPath().getString("id");
        simulator.setUnreachable("sim-silent", true);
        try {
            problem(given().auth().oauth2(token).post("/api/v1/me/sessions/" + id + "/connection"), 503,
                    "hypervisor-unavailable");
        } finally {
            simulator.setUnreachable("sim-silent", false);
        }
    }

    private static void problem(Response r, int status, String type) {
        r.then().statusCode(status).contentType("application/problem+json").body("type", endsWith("/" + type));
    }
}
