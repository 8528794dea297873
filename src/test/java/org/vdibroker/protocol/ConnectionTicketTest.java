package org.vdibroker.protocol;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;
import static org.vdibroker.testsupport.Management.management;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.simulator.SimulatorControl;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/** Connection details: one-time tickets that expire, and the files clients open. */
@QuarkusTest
class ConnectionTicketTest {

    @Inject
    SimulatorControl simulator;

    @Inject
    TicketService tickets;

    @Test
    void consoleTicketWorksOnceAndFilesHaveTheirTypes() {
        Api.simulator("sim-ticket", 10, 50, 50);
        Api.createPool(Api.pool("tickets", "floating", 1, 1, 3, "sim-ticket", List.of("/engineering")));
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("tickets", "READY") >= 1);
        String token = Tokens.user("viewer", "/engineering");
        JsonPath session = given().auth().oauth2(token).contentType("application/json").body("{\"protocol\":\"vnc\"}")
                .post("/api/v1/me/pools/tickets/desktop").then().statusCode(200).extract().jsonPath();
        String sessionId = session.getString("id");
        String vmRef = (String) Api.desktop("tickets", session.getString("desktopId")).get("vmRef");

        JsonPath connection = given().auth().oauth2(token).post("/api/v1/me/sessions/" + sessionId + "/connection")
                .then().statusCode(200).extract().jsonPath();
        assertThat(connection.getString("protocol")).isEqualTo("vnc");
        assertThat(connection.getInt("port")).isPositive();
        assertThat(connection.getString("expiresAt")).isNotBlank();
        assertThat(connection.getString("files.rdp")).endsWith("/connection.rdp");
        String ticket = connection.getString("ticket");
        assertThat(ticket).isNotEqualTo(session.getString("connection.ticket"));

        // the VM's console accepts the ticket once
        assertThat(simulator.authenticateConsole("sim-ticket", vmRef, ticket)).isTrue();
        assertThat(simulator.authenticateConsole("sim-ticket", vmRef, ticket)).isFalse();
        // and the broker's own record of it (used by console proxies and gateways) redeems once
        assertThat(tickets.redeem(ticket)).isPresent().get().extracting(TicketState::sessionId).isEqualTo(sessionId);
        assertThat(tickets.redeem(ticket)).isEmpty();
        assertThat(tickets.redeem("made-up-ticket")).isEmpty();

        Response rdp = given().auth().oauth2(token).get("/api/v1/me/sessions/" + sessionId + "/connection.rdp");
        rdp.then().statusCode(200).contentType("application/x-rdp");
        assertThat(rdp.asString()).contains("full address:s:").contains("username:s:viewer");
        // no signing certificate configured: unsigned, and readiness says so
        assertThat(rdp.asString()).doesNotContain("signature:s:").doesNotContain("signscope:s:");
        assertThat(management().get("/q/health/ready").then().statusCode(200).extract().jsonPath()
                .getBoolean("checks.find { it.name == 'rdp-signing' }.data.signed")).isFalse();
        Response vv = given().auth().oauth2(token).get("/api/v1/me/sessions/" + sessionId + "/connection.vv");
        vv.then().statusCode(200).contentType("application/x-virt-viewer");
        assertThat(vv.asString()).startsWith("[virt-viewer]").contains("type=vnc").contains("password=");
        String vvTicket = vv.asString().lines().filter(l -> l.startsWith("password=")).findFirst().orElseThrow()
                .substring("password=".length());
        assertThat(simulator.authenticateConsole("sim-ticket", vmRef, vvTicket)).isTrue();
    }

    @Test
    void ticketDoesNotWorkAfterItExpires() throws Exception {
        TicketService.IssuedTicket shortLived = tickets.issue("s-1", "d-1", "sub-u", "u", "vnc",
                Duration.ofMillis(300));
        TicketService.IssuedTicket other = tickets.issue("s-2", "d-2", "sub-u", "u", "vnc", Duration.ofMillis(300));
        assertThat(tickets.redeem(other.ticket())).isPresent(); // valid while fresh
        Thread.sleep(600);
        assertThat(tickets.redeem(shortLived.ticket())).isEmpty();
    }

    @Test
    void noConnectionBeforeTheDesktopIsReady() {
        Api.simulator("sim-slow", 10, 60_000, 60_000);
        Api.createPool(Api.pool("slow", "floating", 0, 1, 1, "sim-slow", List.of("/engineering")));
        String token = Tokens.user("patient", "/engineering");
        String id = Api.requestDesktop(token, "slow").then().statusCode(202).extract().jsonPath().getString("id");
        given().auth().oauth2(token).post("/api/v1/me/sessions/" + id + "/connection").then().statusCode(409)
                .contentType("application/problem+json");
    }
}
