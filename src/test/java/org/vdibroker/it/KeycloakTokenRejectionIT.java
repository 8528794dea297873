package org.vdibroker.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.it.KeycloakLoginIT.JSON;
import static org.vdibroker.it.KeycloakLoginIT.payload;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.restassured.response.Response;
import io.smallrye.jwt.build.Jwt;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.DemoBrokerResource;
import org.vdibroker.testsupport.KeycloakServer;
import org.vdibroker.testsupport.KeycloakTestResource;

/**
 * Tokens the broker must refuse, all with the same 401 problem and nothing about why: expired, from another realm,
 * without the broker as audience, {@code alg: none}, tampered, signed by a key the realm does not have. The other
 * realm and the clients are created through Keycloak's admin REST API.
 */
@QuarkusIntegrationTest
@QuarkusTestResource(value = KeycloakTestResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = DemoBrokerResource.class, restrictToAnnotatedClass = true)
class KeycloakTokenRejectionIT {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private static String reference;

    /** The answer to a request without any token: every bad token must get exactly this. */
    private static synchronized String reference() {
        if (reference == null) {
            reference = given().get("/api/v1/me/pools").then().statusCode(401).extract().asString();
            assertThat(reference).doesNotContainIgnoringCase("exception");
        }
        return reference;
    }

    @Test
    void aValidTokenIsAccepted() {
        given().auth().oauth2(KeycloakServer.passwordGrant("vdi-client", "demo", "demo")).get("/api/v1/me/pools")
                .then().statusCode(200);
    }

    @Test
    void tamperedSignatureAlgNoneAndUnknownKeyAreRejected() throws Exception {
        String token = KeycloakServer.passwordGrant("vdi-client", "demo", "demo");
        String[] parts = token.split("\\.");
        ObjectNode claims = (ObjectNode) payload(token);

        // tampered: bob's token with demo's groups, keeping bob's signature
        String bob = KeycloakServer.passwordGrant("vdi-client", "bob", "bob");
        ObjectNode bobClaims = (ObjectNode) payload(bob);
        bobClaims.set("groups", claims.get("groups"));
        String[] bobParts = bob.split("\\.");
        assertRejected(bobParts[0] + "." + encode(bobClaims) + "." + bobParts[2], "tampered payload");
        // tampered: one character of the signature changed
        char last = parts[2].charAt(10);
        assertRejected(parts[0] + "." + parts[1] + "." + parts[2].substring(0, 10) + (last == 'A' ? 'B' : 'A')
                + parts[2].substring(11), "tampered signature");

        // alg none, with and without an (empty) signature
        ObjectNode none = JSON.createObjectNode().put("alg", "none").put("typ", "JWT");
        assertRejected(encode(none) + "." + parts[1] + ".", "alg none");
        assertRejected(encode(none) + "." + parts[1], "alg none without signature part");

        // signed by a key the realm does not have, once with the realm key's kid and once with an unknown kid
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair foreign = generator.generateKeyPair();
        String realmKid = JSON.readTree(Base64.getUrlDecoder().decode(parts[0])).path("kid").asText();
        Map<String, Object> asMap = JSON.convertValue(claims, Map.class);
        assertRejected(Jwt.claims(asMap).jws().keyId(realmKid).sign(foreign.getPrivate()), "foreign key, realm kid");
        assertRejected(Jwt.claims(asMap).jws().keyId("unknown-key").sign(foreign.getPrivate()), "unknown kid");

        // the genuine token still works
        given().auth().oauth2(token).get("/api/v1/me/pools").then().statusCode(200);
    }

    @Test
    void tokenFromAnotherRealmIsRejected() throws Exception {
        String admin = adminToken();
        ObjectNode realm = JSON.createObjectNode().put("realm", "other-" + System.nanoTime()).put("enabled", true);
        realm.set("clients", JSON.valueToTree(List.of(thinClient("vdi-client", true, 300))));
        realm.set("users", JSON.valueToTree(List.of(Map.of("username", "demo", "enabled", true, "email",
                "demo@other.example", "emailVerified", true, "firstName", "Demo", "lastName", "Other",
                "credentials", List.of(Map.of("type", "password", "value", "demo", "temporary", false))))));
        adminCall(admin, "POST", "/admin/realms", realm, 201);
        String realmName = realm.get("realm").asText();

        JsonNode answer = tokenRequest(KeycloakServer.baseUrl() + "/realms/" + realmName
                + "/protocol/openid-connect/token", "grant_type=password&client_id=vdi-client&username=demo"
                        + "&password=demo");
        String token = answer.path("access_token").asText();
        assertThat(token).as("token from realm %s: %s", realmName, answer.path("error")).isNotBlank();
        assertThat(payload(token).path("aud").toString()).contains("vdi-broker");
        assertThat(payload(token).path("preferred_username").asText()).isEqualTo("demo");
        assertRejected(token, "other realm");
    }

    @Test
    void tokenWithoutTheBrokerAsAudienceIsRejected() throws Exception {
        String clientId = "no-audience-" + System.nanoTime();
        adminCall(adminToken(), "POST", "/admin/realms/vdi/clients",
                JSON.valueToTree(thinClient(clientId, false, 300)), 201);
        String token = KeycloakServer.passwordGrant(clientId, "demo", "demo");
        assertThat(payload(token).path("aud").toString()).doesNotContain("vdi-broker");
        assertThat(payload(token).path("groups").toString()).contains("/vdi-users");
        assertRejected(token, "wrong audience");
    }

    /** A client whose access tokens live 3 s: accepted at once, refused once expired. */
    @Test
    void expiredTokenIsRejected() throws Exception {
        String clientId = "short-lived-" + System.nanoTime();
        adminCall(adminToken(), "POST", "/admin/realms/vdi/clients",
                JSON.valueToTree(thinClient(clientId, true, 3)), 201);
        String token = KeycloakServer.passwordGrant(clientId, "demo", "demo");
        JsonNode claims = payload(token);
        assertThat(claims.path("exp").asLong() - claims.path("iat").asLong()).isLessThanOrEqualTo(3);
        given().auth().oauth2(token).get("/api/v1/me/pools").then().statusCode(200);

        long waitMillis = (claims.path("exp").asLong() + 2) * 1000 - System.currentTimeMillis();
        Thread.sleep(Math.max(0, waitMillis));
        assertRejected(token, "expired");
    }

    private static void assertRejected(String token, String what) {
        Response answer = given().auth().oauth2(token).get("/api/v1/me/pools");
        assertThat(answer.statusCode()).as(what).isEqualTo(401);
        assertThat(answer.contentType()).as(what).startsWith("application/problem+json");
        assertThat(answer.asString()).as(what).isEqualTo(reference());
        for (String leak : List.of("signature", "expired", "audience", "issuer", "realm", "kid", "alg", "jose4j",
                "exception", "invalid_token")) {
            assertThat(answer.asString() + answer.headers().toString()).as(what).doesNotContainIgnoringCase(leak);
        }
        given().auth().oauth2(token).post("/api/v1/me/pools/demo/desktop").then().statusCode(401);
    }

    /** A public thin client with the password grant and the groups mapper; the broker as audience only if asked. */
    static Map<String, Object> thinClient(String clientId, boolean brokerAudience, int accessTokenSeconds) {
        Map<String, Object> groups = Map.of("name", "groups", "protocol", "openid-connect", "protocolMapper",
                "oidc-group-membership-mapper", "config", Map.of("claim.name", "groups", "full.path", "true",
                        "access.token.claim", "true"));
        Map<String, Object> audience = Map.of("name", "vdi-broker-audience", "protocol", "openid-connect",
                "protocolMapper", "oidc-audience-mapper", "config", Map.of("included.client.audience", "vdi-broker",
                        "access.token.claim", "true"));
        return Map.of("clientId", clientId, "enabled", true, "publicClient", true, "directAccessGrantsEnabled", true,
                "standardFlowEnabled", false, "attributes",
                Map.of("access.token.lifespan", Integer.toString(accessTokenSeconds)),
                "protocolMappers", brokerAudience ? List.of(groups, audience) : List.of(groups));
    }

    static String adminToken() throws Exception {
        JsonNode answer = tokenRequest(KeycloakServer.baseUrl() + "/realms/master/protocol/openid-connect/token",
                "grant_type=password&client_id=admin-cli&username=" + KeycloakServer.ADMIN_USER + "&password="
                        + KeycloakServer.ADMIN_PASSWORD);
        assertThat(answer.hasNonNull("access_token")).as("admin token: %s", answer.path("error")).isTrue();
        return answer.get("access_token").asText();
    }

    static HttpResponse<String> adminCall(String adminToken, String method, String path, JsonNode body,
            int expectedStatus) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(KeycloakServer.baseUrl() + path))
                .timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + adminToken)
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as("%s %s: %s", method, path, response.body()).isEqualTo(expectedStatus);
        return response;
    }

    static JsonNode tokenRequest(String endpoint, String form) throws Exception {
        return JSON.readTree(HTTP.send(HttpRequest.newBuilder(URI.create(endpoint)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build(), HttpResponse.BodyHandlers.ofString())
                .body());
    }

    private static String encode(JsonNode json) throws Exception {
        return B64.encodeToString(JSON.writeValueAsString(json).getBytes(StandardCharsets.UTF_8));
    }

}
