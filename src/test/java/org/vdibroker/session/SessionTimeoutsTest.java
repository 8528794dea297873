package org.vdibroker.session;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.simulator.SimulatorControl;
import org.vdibroker.security.AgentSecrets;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/** A pool's disconnect and idle timeouts log users off; 0 means never; a dedicated desktop keeps its owner. */
@QuarkusTest
class SessionTimeoutsTest {

    @Inject
    SimulatorControl simulator;

    @Test
    void aDisconnectedSessionIsLoggedOffAfterTheDisconnectTimeoutUnlessTheUserCameBack() throws Exception {
        Api.simulator("sim-disconnect", 10, 50, 50);
        Api.createPool(withTimeouts(Api.pool("disconnects", "floating", 2, 0, 2, "sim-disconnect",
                List.of("/engineering")), 0, 3));
        await("ready desktops", Duration.ofSeconds(30), () -> Api.desktopsIn("disconnects", "READY") == 2);

        String leaver = Tokens.user("leaver", "/engineering");
        Agent leaving = logOn(leaver, "disconnects", "sim-disconnect");
        String returner = Tokens.user("returner", "/engineering");
        Agent returning = logOn(returner, "disconnects", "sim-disconnect");

        long disconnectedAt = System.nanoTime();
        leaving.send("{\"type\":\"disconnect\"}");
        returning.send("{\"type\":\"disconnect\"}");
        assertThat(state(leaver, leaving.sessionId)).isEqualTo("DISCONNECTED");
        Thread.sleep(1500);
        returning.send("{\"type\":\"logon\"}"); // back within the timeout: the clock starts again at the next one

        await("the disconnected session logged off", Duration.ofSeconds(10),
                () -> "ENDED".equals(state(leaver, leaving.sessionId)));
        double after = (System.nanoTime() - disconnectedAt) / 1e9;
        assertThat(after).as("seconds until the logoff").isBetween(2.5, 6.0);
        JsonPath ended = session(leaver, leaving.sessionId);
        assertThat(ended.getString("endReason")).isEqualTo("disconnect-timeout");
        // floating: refreshed like after any logoff, never handed on as it was
        assertThat(Api.desktop("disconnects", leaving.desktopId).get("state")).isIn("REFRESHING", "STARTING",
                "READY");
        await("audited with its reason", Duration.ofSeconds(10), () -> audited(leaving.sessionId,
                "disconnect-timeout"));

        Thread.sleep(2000);
        assertThat(state(returner, returning.sessionId)).as("the user who came back").isEqualTo("CONNECTED");
        assertThat(Api.desktop("disconnects", returning.desktopId).get("sessionId")).isEqualTo(
                returning.sessionId);
    }

    @Test
    void anIdleUserOfADedicatedDesktopIsLoggedOffAndKeepsTheDesktop() throws Exception {
        Api.simulator("sim-idle", 10, 50, 50);
        Api.createPool(withTimeouts(Api.pool("idlers", "dedicated", 1, 0, 2, "sim-idle", List.of("/engineering")),
                3, 0));
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("idlers", "READY") == 1);
        String owner = Tokens.user("dozer", "/engineering");
        Agent agent = logOn(owner, "idlers", "sim-idle");

        agent.send("{\"type\":\"heartbeat\",\"idleSeconds\":2}");
        agent.send("{\"type\":\"heartbeat\",\"idleSeconds\":0}"); // a key press: active again
        Thread.sleep(2500);
        assertThat(state(owner, agent.sessionId)).as("active user").isEqualTo("CONNECTED");
        given().header("Authorization", "Desktop " + agent.secret).contentType("application/json")
                .body("{\"type\":\"heartbeat\",\"idleSeconds\":-1}")
                .post("/api/v1/agent/desktops/" + agent.desktopId + "/events").then().statusCode(400)
                .contentType("application/problem+json");

        agent.send("{\"type\":\"heartbeat\",\"idleSeconds\":2}");
        await("the idle user logged off", Duration.ofSeconds(5), () -> "ENDED".equals(state(owner,
                agent.sessionId)));
        assertThat(session(owner, agent.sessionId).getString("endReason")).isEqualTo("idle-timeout");
        Map<String, Object> kept = Api.desktop("idlers", agent.desktopId);
        assertThat(kept.get("owner")).isEqualTo("dozer");
        assertThat(kept.get("state")).isEqualTo("ASSIGNED");
        assertThat(Api.requestDesktop(owner, "idlers").then().statusCode(200).extract().jsonPath()
                .getString("desktopId")).isEqualTo(agent.desktopId);
    }

    @Test
    void zeroMeansNever() throws Exception {
        Api.simulator("sim-forever", 10, 50, 50);
        Api.createPool(withTimeouts(Api.pool("forever", "floating", 1, 0, 1, "sim-forever",
                List.of("/engineering")), 0, 0));
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("forever", "READY") == 1);
        String user = Tokens.user("stayer", "/engineering");
        Agent agent = logOn(user, "forever", "sim-forever");
        agent.send("{\"type\":\"heartbeat\",\"idleSeconds\":100000}");
        agent.send("{\"type\":\"disconnect\"}");
        Thread.sleep(2500);
        assertThat(state(user, agent.sessionId)).isEqualTo("DISCONNECTED");
    }

    /** A user who got a desktop and logged on to it, and the desktop's agent. */
    record Agent(String sessionId, String desktopId, String secret) {
        void send(String event) {
            given().header("Authorization", "Desktop " + secret).contentType("application/json").body(event)
                    .post("/api/v1/agent/desktops/" + desktopId + "/events").then().statusCode(204);
        }
    }

    Agent logOn(String token, String poolId, String hypervisorId) {
        JsonPath got = Api.requestDesktop(token, poolId).then().statusCode(200).extract().jsonPath();
        String desktopId = got.getString("desktopId");
        String vmRef = (String) Api.desktop(poolId, desktopId).get("vmRef");
        Agent agent = new Agent(got.getString("id"), desktopId,
                simulator.guestMetadata(hypervisorId, vmRef).get(AgentSecrets.METADATA_KEY));
        agent.send("{\"type\":\"logon\"}");
        assertThat(state(token, agent.sessionId)).isEqualTo("CONNECTED");
        return agent;
    }

    static Map<String, Object> withTimeouts(Map<String, Object> pool, long idleSeconds, long disconnectSeconds) {
        Map<String, Object> changed = new HashMap<>(pool);
        changed.put("idleTimeoutSeconds", idleSeconds);
        changed.put("disconnectTimeoutSeconds", disconnectSeconds);
        return changed;
    }

    static JsonPath session(String token, String sessionId) {
        return given().auth().oauth2(token).get("/api/v1/me/sessions/" + sessionId).then().statusCode(200)
                .extract().jsonPath();
    }

    static String state(String token, String sessionId) {
        return session(token, sessionId).getString("state");
    }

    static boolean audited(String sessionId, String reason) {
        List<Map<String, Object>> events = given().auth().oauth2(Api.ADMIN).queryParam("size", 200)
                .get("/api/v1/admin/audit").then().statusCode(200).extract().jsonPath().getList("$");
        return events.stream().anyMatch(e -> "session.ended".equals(e.get("kind"))
                && sessionId.equals(e.get("sessionId")) && reason.equals(e.get("detail"))
                && "pool-manager".equals(e.get("actor")));
    }
}
