package org.vdibroker.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The production realm template carries no users' passwords and no client secrets; both realms resist brute force. */
class RealmFilesTest {

    private static JsonNode read(String file) throws Exception {
        return new ObjectMapper().readTree(Path.of("config/keycloak", file).toFile());
    }

    @Test
    void productionTemplateHasNoSecretsAndNoUsers() throws Exception {
        JsonNode realm = read("vdi-realm-production-template.json");
        assertThat(realm.toString()).doesNotContain("\"secret\"").doesNotContain("\"credentials\"")
                .doesNotContain("127.0.0.1").doesNotContain("localhost");
        realm.path("users").forEach(u -> assertThat(u.path("username").asText()).startsWith("service-account-"));
        assertThat(realm.path("sslRequired").asText()).isEqualTo("all");
        assertThat(realm.path("bruteForceProtected").asBoolean()).isTrue();
    }

    @Test
    void bothRealmsProtectAgainstBruteForceAndKnowTheGatewayRole() throws Exception {
        for (String file : new String[] { "vdi-realm.json", "vdi-realm-production-template.json" }) {
            JsonNode realm = read(file);
            assertThat(realm.path("bruteForceProtected").asBoolean()).as(file).isTrue();
            assertThat(realm.path("failureFactor").asInt()).as(file).isBetween(1, 30);
            assertThat(realm.path("roles").path("realm").findValuesAsText("name")).as(file).contains("vdi-gateway");
        }
    }

    /** The demo realm says what it is on Keycloak's own login page, so nobody mistakes it for a production realm. */
    @Test
    void theDemoRealmIsNamedAsTheDemo() throws Exception {
        assertThat(read("vdi-realm.json").path("displayName").asText()).containsIgnoringCase("demo")
                .containsIgnoringCase("not for production");
        assertThat(read("vdi-realm-production-template.json").path("displayName").asText())
                .doesNotContainIgnoringCase("demo");
    }
}
