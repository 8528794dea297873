package org.vdibroker.testsupport;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/**
 * Points the broker under test at the real Keycloak of {@link KeycloakServer}:
 * {@code @QuarkusTestResource(KeycloakTestResource.class)} (or {@code @WithTestResource}).
 *
 * <p>{@link #stop()} leaves the server running: the shutdown hook of {@link KeycloakServer} stops it when the JVM
 * ends, so all test classes of a run share one server.
 */
public class KeycloakTestResource implements QuarkusTestResourceLifecycleManager {

    @Override
    public Map<String, String> start() {
        KeycloakServer.start();
        return Map.of(
                "quarkus.oidc.auth-server-url", KeycloakServer.realmUrl(),
                "broker.keycloak.url", KeycloakServer.baseUrl(),
                // The test profile verifies tokens with a local test key (application.properties, %test); these
                // undo that, so the same resource serves @QuarkusTest as well as @QuarkusIntegrationTest classes.
                "quarkus.oidc.discovery-enabled", "true",
                "quarkus.oidc.public-key", "",
                "quarkus.oidc.token.issuer", KeycloakServer.issuer(),
                // the broker's service account looks up pool groups in Keycloak's admin API
                "quarkus.oidc.credentials.secret", "vdi-broker-demo-secret");
    }

    @Override
    public void stop() {
        // shared by all test classes of the JVM; KeycloakServer's shutdown hook stops it
    }
}
