package org.vdibroker.agent;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.simulator.SimulatorControl;
import org.vdibroker.security.AgentSecrets;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * The agent in a desktop reports logon and logoff with the secret the broker gave that desktop; every refresh gives
 * the guest a new one and voids the old.
 */
@QuarkusTest
class AgentEventTest {

    @Inject
    SimulatorControl simulator;

    @Test
    void logonAndLogoffFromTheDesktopMoveSessionAndDesktop() {
        Api.simulator("sim-agent", 10, 50, 50);
        Api.createPool(Api.pool("agents", "floating", 1, 1, 3, "sim-agent", List.of("/engineering")));
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("agents", "READY") >= 1);
        String token = Tokens.user("worker", "/engineering");
        JsonPath session = Api.requestDesktop(token, "agents").then().statusCode(200).extract().jsonPath();
        String desktopId = session.getString("desktopId");
        String vmRef = (String) Api.desktop("agents", desktopId).get("vmRef");
        String secret = simulator.guestMetadata("sim-agent", vmRef).get(AgentSecrets.METADATA_KEY);
        assertThat(secret).isNotBlank();
        String events = "/api/v1/agent/desktops/" + desktopId + "/events";

        given().header("Authorization", "Desktop wrong-secret").contentType("application/json")
                .body("{\"type\":\"logon\"}").post(events).then().statusCode(401)
                .contentType("application/problem+json");
        given().contentType("application/json").body("{\"type\":\"logon\"}").post(events).then().statusCode(401);
        // a user's token is no desktop secret
        given().auth().oauth2(token).contentType("application/json").body("{\"type\":\"logon\"}").post(events)
                .then().statusCode(401);
        given().header("Authorization", "Desktop " + secret).contentType("application/json")
                .body("{\"type\":\"dance\"}").post(events).then().statusCode(400);

        given().header("Authorization", "Desktop " + secret).contentType("application/json")
                .body("{\"type\":\"logon\"}").post(events).then().statusCode(204);
        assertThat(given().auth().oauth2(token).get("/api/v1/me/sessions/" + session.getString("id")).then()
                .extract().jsonPath().getString("state")).isEqualTo("CONNECTED");
        assertThat(Api.desktopsIn("agents", "IN_USE")).isEqualTo(1);

        given().header("Authorization", "Desktop " + secret).contentType("application/json")
                .body("{\"type\":\"logoff\"}").post(events).then().statusCode(204);
        assertThat(given().auth().oauth2(token).get("/api/v1/me/sessions/" + session.getString("id")).then()
                .extract().jsonPath().getString("state")).isEqualTo("ENDED");
        String state = (String) Api.desktop("agents", desktopId).get("state");
        assertThat(state).isIn("REFRESHING", "STARTING", "READY");

        // the former user could read the secret inside the guest: from the refresh on it speaks for nobody
        given().header("Authorization", "Desktop " + secret).contentType("application/json")
                .body("{\"type\":\"heartbeat\"}").post(events).then().statusCode(401)
                .contentType("application/problem+json");
        await("refreshed desktop", Duration.ofSeconds(30),
                () -> "READY".equals(Api.desktop("agents", desktopId).get("state")));
        String renewed = simulator.guestMetadata("sim-agent", (String) Api.desktop("agents", desktopId).get("vmRef"))
                .get(AgentSecrets.METADATA_KEY);
        assertThat(renewed).isNotBlank().isNotEqualTo(secret);
        given().header("Authorization", "Desktop " + secret).contentType("application/json")
                .body("{\"type\":\"heartbeat\"}").post(events).then().statusCode(401)
                .contentType("application/problem+json");
        given().header("Authorization", "Desktop " + renewed).contentType("application/json")
                .body("{\"type\":\"heartbeat\"}").post(events).then().statusCode(204);

        // an administrator's recycle is a refresh too: yet another secret, the previous one void at once
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/desktops/" + desktopId + "/recycle").then()
                .statusCode(200);
        given().header("Authorization", "Desktop " + renewed).contentType("application/json")
                .body("{\"type\":\"heartbeat\"}").post(events).then().statusCode(401);
        await("recycled desktop", Duration.ofSeconds(30),
                () -> "READY".equals(Api.desktop("agents", desktopId).get("state")));
        String recycled = simulator.guestMetadata("sim-agent", (String) Api.desktop("agents", desktopId).get("vmRef"))
                .get(AgentSecrets.METADATA_KEY);
        assertThat(recycled).isNotIn(secret, renewed);
        given().header("Authorization", "Desktop " + renewed).contentType("application/json")
                .body("{\"type\":\"heartbeat\"}").post(events).then().statusCode(401);
        given().header("Authorization", "Desktop " + recycled).contentType("application/json")
                .body("{\"type\":\"heartbeat\"}").post(events).then().statusCode(204);
    }
}
