package org.vdibroker.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.restassured.response.Response;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.DemoBrokerResource;
import org.vdibroker.testsupport.KeycloakServer;
import org.vdibroker.testsupport.KeycloakTestResource;

/**
 * The README walk-through against the packaged broker and a real Keycloak with the realm from config/: the demo user
 * signs in with the password grant, gets a desktop of pool "demo", connection details and an .rdp file.
 */
@QuarkusIntegrationTest
// MATCHING_RESOURCES: it runs on the broker started for BrowserDesktopIT (the class before it in Quarkus's order, by
// class name, with the same resources), instead of starting one of its own
@WithTestResource(value = KeycloakTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = DemoBrokerResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
class DemoWalkthroughIT {

    @Test
    void demoUserSignsInAndGetsADesktopWithAnRdpFile() throws Exception {
        String token = KeycloakServer.passwordGrant("vdi-client", "demo", "demo");

        List<Map<String, Object>> pools = given().auth().oauth2(token).get("/api/v1/me/pools").then()
                .statusCode(200).extract().jsonPath().getList("$");
        assertThat(pools).extracting(p -> p.get("id")).contains("demo");

        // as the README says: ask again while the answer is 202 (the demo pool warms up its first desktops)
        Response answer = given().auth().oauth2(token).post("/api/v1/me/pools/demo/desktop");
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (answer.statusCode() == 202 && Instant.now().isBefore(deadline)) {
            Thread.sleep(1000);
            answer = given().auth().oauth2(token).post("/api/v1/me/pools/demo/desktop");
        }
        answer.then().statusCode(200);
        String session = answer.jsonPath().getString("id");

        Map<String, Object> connection = given().auth().oauth2(token)
                .post("/api/v1/me/sessions/" + session + "/connection").then().statusCode(200).extract().jsonPath()
                .getMap("$");
        assertThat(connection).containsKeys("protocol", "host", "port", "ticket", "expiresAt", "files");
        assertThat((String) connection.get("ticket")).isNotBlank()
                .isNotEqualTo(answer.jsonPath().getString("connection.ticket"));

        Response rdp = given().auth().oauth2(token).get("/api/v1/me/sessions/" + session + "/connection.rdp");
        rdp.then().statusCode(200).contentType("application/x-rdp");
        assertThat(rdp.asString()).contains("full address:s:").contains("username:s:demo");

        // bob is not in the demo pool's groups; deskadmin may use the admin API, demo may not
        String bob = KeycloakServer.passwordGrant("vdi-client", "bob", "bob");
        given().auth().oauth2(bob).post("/api/v1/me/pools/demo/desktop").then().statusCode(403);
        given().auth().oauth2(token).get("/api/v1/admin/pools").then().statusCode(403);
        String admin = KeycloakServer.passwordGrant("vdi-client", "deskadmin", "deskadmin");
        given().auth().oauth2(admin).get("/api/v1/admin/pools/demo/desktops").then().statusCode(200);
        given().auth().oauth2("not-a-token").get("/api/v1/me/pools").then().statusCode(401);
    }
}
