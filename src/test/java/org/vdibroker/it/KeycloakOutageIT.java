package org.vdibroker.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.it.KeycloakLoginIT.brokerLogin;
import static org.vdibroker.it.KeycloakLoginIT.desktop;
import static org.vdibroker.testsupport.Management.management;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.DemoBrokerResource;
import org.vdibroker.testsupport.KeycloakServer;
import org.vdibroker.testsupport.KeycloakTestResource;

/**
 * Keycloak stopped and started again while the broker runs: holders of valid tokens keep getting desktops, new
 * sign-ins through the broker fail with 503 naming the identity provider, readiness stays UP; once Keycloak is back
 * (with new signing keys) sign-in works again and the new tokens are accepted.
 */
@QuarkusIntegrationTest
@QuarkusTestResource(value = KeycloakTestResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = DemoBrokerResource.class, restrictToAnnotatedClass = true)
class KeycloakOutageIT {

    @AfterAll
    static void keycloakRunsAgain() {
        // whatever happened above, the next test class finds Keycloak running
        KeycloakServer.start();
    }

    @Test
    void keycloakDownAndBackUp() {
        Response signIn = brokerLogin("demo", "demo");
        signIn.then().statusCode(200);
        String token = signIn.jsonPath().getString("access_token");
        String refreshToken = signIn.jsonPath().getString("refresh_token");
        Response first = desktop(token);
        first.then().statusCode(200);
        String session = first.jsonPath().getString("id");
        String admin = KeycloakServer.passwordGrant("vdi-client", "deskadmin", "deskadmin");

        KeycloakServer.stop();
        try {
            // a holder of a valid token still gets its desktop and a fresh connection: validation is local
            given().auth().oauth2(token).get("/api/v1/me/pools").then().statusCode(200);
            Response again = desktop(token);
            again.then().statusCode(200);
            assertThat(again.jsonPath().getString("id")).isEqualTo(session);
            given().auth().oauth2(token).post("/api/v1/me/sessions/" + session + "/connection").then()
                    .statusCode(200);

            // new sign-ins and refreshes: 503 naming the identity provider
            Response down = brokerLogin("demo", "demo");
            down.then().statusCode(503).contentType("application/problem+json");
            assertThat(down.jsonPath().getString("type")).endsWith("/identity-provider-unavailable");
            assertThat(down.jsonPath().getString("title")).contains("Identity provider").contains("Keycloak");
            assertThat(down.header("Retry-After")).isNotBlank();
            Response refresh = given().contentType(ContentType.JSON).body(Map.of("refresh_token", refreshToken))
                    .post("/api/v1/login/refresh");
            refresh.then().statusCode(503);
            assertThat(refresh.asString()).isEqualTo(down.asString());

            // a pool's groups cannot be checked, so the pool is not saved
            Response pool = given().auth().oauth2(admin).contentType(ContentType.JSON)
                    .body(KeycloakGroupsIT.pool("outage-pool", List.of("/engineering")))
                    .post("/api/v1/admin/pools");
            pool.then().statusCode(503).contentType("application/problem+json");
            assertThat(pool.jsonPath().getString("type")).endsWith("/identity-provider-unavailable");
            given().auth().oauth2(admin).get("/api/v1/admin/pools/outage-pool").then().statusCode(404);

            // it is not the broker that is down, but its health details say the identity provider is
            management().get("/q/health/ready").then().statusCode(200).body("status", org.hamcrest.Matchers.is("UP"));
            org.vdibroker.testsupport.Api.await("identity provider shown DOWN", java.time.Duration.ofSeconds(20),
                    () -> "DOWN".equals(identityProviderState()));
            management().get("/q/health/ready").then().statusCode(200);
        } finally {
            KeycloakServer.start();
        }

        // back up, with new keys and a fresh realm: sign-in works again and the new tokens are accepted. The realm
        // file fixes its users' ids, as a real Keycloak's database keeps them, so demo is the same subject (`sub`)
        // and finds its session again
        Response back = brokerLogin("demo", "demo");
        back.then().statusCode(200);
        String newToken = back.jsonPath().getString("access_token");
        Response reconnect = desktop(newToken);
        reconnect.then().statusCode(200);
        assertThat(reconnect.jsonPath().getString("id")).isEqualTo(session);
        String bob = brokerLogin("bob", "bob").then().statusCode(200).extract().path("access_token");
        given().auth().oauth2(bob).post("/api/v1/me/pools/demo/desktop").then().statusCode(403);
        management().get("/q/health/ready").then().statusCode(200);
        org.vdibroker.testsupport.Api.await("identity provider shown UP again", java.time.Duration.ofSeconds(20),
                () -> "UP".equals(identityProviderState()));
    }

    private static String identityProviderState() {
        return management().get("/q/health/ready").then().extract().jsonPath()
                .getString("checks.find { it.name == 'broker-node' }.data.'identity-provider'");
    }
}
