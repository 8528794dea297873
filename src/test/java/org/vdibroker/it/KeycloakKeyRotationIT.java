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
class KeycloakKeyRotationIT {

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

        String after = KeycloakServer.passwordGrant("vdi-client", "demo", "demo");
        assertThat(kid(after)).isNotEqualTo(kid(before));
        given().auth().oauth2(after).get("/api/v1/me/pools").then().statusCode(200);
        assertThat(desktop(after).statusCode()).isEqualTo(200);
        // the old key is still in the realm's key set: its tokens stay valid until they expire
        given().auth().oauth2(before).get("/api/v1/me/pools").then().statusCode(200);
        String bob = KeycloakServer.passwordGrant("vdi-client", "bob", "bob");
        given().auth().oauth2(bob).post("/api/v1/me/pools/demo/desktop").then().statusCode(403);
    }

    private static String kid(String jwt) throws Exception {
        return JSON.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[0])).path("kid").asText();
    }
}
