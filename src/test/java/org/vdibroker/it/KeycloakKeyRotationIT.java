package org.vdibroker.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.it.KeycloakLoginIT.JSON;
import static org.vdibroker.it.KeycloakLoginIT.desktop;
import static org.vdibroker.it.KeycloakTokenRejectionIT.adminCall;
import static org.vdibroker.it.KeycloakTokenRejectionIT.adminToken;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.DemoBrokerResource;
import org.vdibroker.testsupport.KeycloakServer;
import org.vdibroker.testsupport.KeycloakTestResource;

/**
 * The realm's signing key is rotated (a new RSA key with a higher priority, added through the admin REST API) while
 * the broker runs: tokens signed with the new key are accepted without a restart, and those signed with the old one
 * stay valid until they expire.
 */
@QuarkusIntegrationTest
@QuarkusTestResource(value = KeycloakTestResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = DemoBrokerResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = KeycloakKeyRotationIT.ShortRefresh.class, restrictToAnnotatedClass = true)
class KeycloakKeyRotationIT {

    /**
     * A token with an unknown key id makes the broker fetch the keys again at most this often (default 1 min); 3 s
     * here, so that the second rotation waits 3 s for it instead of 10 s.
     */
    public static class ShortRefresh implements io.quarkus.test.common.QuarkusTestResourceLifecycleManager {
        @Override
        public java.util.Map<String, String> start() {
            return java.util.Map.of("quarkus.oidc.token.forced-jwk-refresh-interval", "3S");
        }

        @Override
        public void stop() {
        }
    }

    @Test
    void aRotatedRealmKeyIsPickedUpWithoutRestart() throws Exception {
        String before = KeycloakServer.passwordGrant("vdi-client", "demo", "demo");
        assertThat(desktop(before).statusCode()).isEqualTo(200);

        String admin = adminToken();
        String realmId = JSON.readTree(adminCall(admin, "GET", "/admin/realms/vdi", null, 200).body()).path("id")
                .asText();
        ObjectNode component = JSON.createObjectNode().put("name", "rotated-rsa-" + System.nanoTime())
                .put("providerId", "rsa-generated").put("providerType", "org.keycloak.keys.KeyProvider")
                .put("parentId", realmId);
        component.set("config", JSON.valueToTree(java.util.Map.of("priority", List.of("1000"), "enabled",
                List.of("true"), "active", List.of("true"), "algorithm", List.of("RS256"), "keySize",
                List.of("2048"))));
        adminCall(admin, "POST", "/admin/realms/vdi/components", component, 201);
        long firstRotation = System.nanoTime();

        String after = KeycloakServer.passwordGrant("vdi-client", "demo", "demo");
        assertThat(kid(after)).isNotEqualTo(kid(before));
        given().auth().oauth2(after).get("/api/v1/me/pools").then().statusCode(200);
        assertThat(desktop(after).statusCode()).isEqualTo(200);
        // the old key is still in the realm's key set: its tokens stay valid until they expire
        given().auth().oauth2(before).get("/api/v1/me/pools").then().statusCode(200);
        String bob = KeycloakServer.passwordGrant("vdi-client", "bob", "bob");
        given().auth().oauth2(bob).post("/api/v1/me/pools/demo/desktop").then().statusCode(403);

        // a second rotation soon after: picked up once the forced-refresh interval since the first has passed
        component.put("name", "rotated-again-rsa-" + System.nanoTime());
        ((ObjectNode) component).set("config", JSON.valueToTree(java.util.Map.of("priority", List.of("2000"),
                "enabled", List.of("true"), "active", List.of("true"), "algorithm", List.of("RS256"), "keySize",
                List.of("2048"))));
        adminCall(adminToken(), "POST", "/admin/realms/vdi/components", component, 201);
        String third = KeycloakServer.passwordGrant("vdi-client", "demo", "demo");
        assertThat(kid(third)).isNotEqualTo(kid(after)).isNotEqualTo(kid(before));
        org.vdibroker.testsupport.Api.await("token of the second rotated key accepted",
                java.time.Duration.ofSeconds(30),
                () -> given().auth().oauth2(third).get("/api/v1/me/pools").statusCode() == 200);
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - firstRotation)).isLessThan(
                java.time.Duration.ofSeconds(45));
        given().auth().oauth2(after).get("/api/v1/me/pools").then().statusCode(200);
    }

    private static String kid(String jwt) throws Exception {
        return JSON.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[0])).path("kid").asText();
    }
}
