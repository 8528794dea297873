package org.vdibroker.session;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.simulator.SimulatorControl;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * What logoff does to a desktop: floating ones are refreshed before anyone else; dedicated ones stay with the owner.
 */
@QuarkusTest
class LogoffTest {

    @Inject
    SimulatorControl simulator;

    @Test
    void floatingDesktopIsRefreshedBeforeTheNextUserGetsIt() {
        Api.simulator("sim-refresh", 10, 300, 300);
        Api.createPool(Api.pool("refresh", "floating", 1, 0, 1, "sim-refresh", List.of("/engineering")));
        await("one ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("refresh", "READY") == 1);

        String first = Tokens.user("first", "/engineering");
        // vnc, so that the ticket becomes the VM's console password
        JsonPath got = given().auth().oauth2(first).contentType("application/json").body("{\"protocol\":\"vnc\"}")
                .post("/api/v1/me/pools/refresh/desktop").then().statusCode(200).extract().jsonPath();
        String desktopId = got.getString("desktopId");
        String sessionId = got.getString("id");
        String firstTicket = got.getString("connection.ticket");
        String vmRef = vmRef("refresh", desktopId);

        given().auth().oauth2(first).post("/api/v1/me/sessions/" + sessionId + "/logoff").then().statusCode(200)
                .body("state", org.hamcrest.Matchers.equalTo("ENDED"));
        assertThat(given().auth().oauth2(first).get("/api/v1/me/sessions/" + sessionId).then().extract().jsonPath()
                .getString("state")).isEqualTo("ENDED");
        assertThat(state("refresh", desktopId)).isIn("REFRESHING", "STARTING");

        // the next user must wait for the refresh: nothing is handed out while the only desktop is refreshing
        String second = Tokens.user("second", "/engineering");
        JsonPath waiting = Api.requestDesktop(second, "refresh").then().statusCode(202).extract().jsonPath();
        assertThat(waiting.getString("desktopId")).isNull();
        String secondSession = waiting.getString("id");
        await("second user served", Duration.ofSeconds(30), () -> "READY".equals(given().auth().oauth2(second)
                .get("/api/v1/me/sessions/" + secondSession).then().extract().jsonPath().getString("state")));
        JsonPath served = given().auth().oauth2(second).get("/api/v1/me/sessions/" + secondSession).then()
                .extract().jsonPath();
        assertThat(served.getString("desktopId")).isEqualTo(desktopId);
        // the refresh reverted the VM: the first user's console password did not survive it
        assertThat(simulator.authenticateConsole("sim-refresh", vmRef, firstTicket)).isFalse();
    }

    @Test
    void dedicatedDesktopGoesBackToItsOwner() {
        Api.simulator("sim-dedicated", 10, 50, 50);
        Api.createPool(Api.pool("dedicated", "dedicated", 2, 1, 5, "sim-dedicated", List.of("/engineering")));
        await("ready desktops", Duration.ofSeconds(30), () -> Api.desktopsIn("dedicated", "READY") >= 2);

        String owner = Tokens.user("owner", "/engineering");
        JsonPath mine = Api.requestDesktop(owner, "dedicated").then().statusCode(200).extract().jsonPath();
        String desktopId = mine.getString("desktopId");
        given().auth().oauth2(owner).post("/api/v1/me/sessions/" + mine.getString("id") + "/logoff").then()
                .statusCode(200);
        Map<String, Object> kept = Api.desktop("dedicated", desktopId);
        assertThat(kept.get("owner")).isEqualTo("owner");
        assertThat(kept.get("sessionId")).isNull();

        await("another ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("dedicated", "READY") >= 1);
        String other = Tokens.user("other", "/engineering");
        String othersDesktop = Api.requestDesktop(other, "dedicated").then().statusCode(200).extract().jsonPath()
                .getString("desktopId");
        assertThat(othersDesktop).isNotEqualTo(desktopId);

        String again = Api.requestDesktop(owner, "dedicated").then().statusCode(200).extract().jsonPath()
                .getString("desktopId");
        assertThat(again).isEqualTo(desktopId);
    }

    static String state(String poolId, String desktopId) {
        return (String) Api.desktop(poolId, desktopId).get("state");
    }

    static String vmRef(String poolId, String desktopId) {
        return (String) Api.desktop(poolId, desktopId).get("vmRef");
    }
}
