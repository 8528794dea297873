package org.vdibroker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.it.KeycloakLoginIT.brokerLogin;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.restassured.response.Response;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.DemoBrokerResource;
import org.vdibroker.testsupport.KeycloakTestResource;

/** Password sign-ins through the broker are limited per client address, whatever the user names. */
@QuarkusIntegrationTest
@QuarkusTestResource(value = KeycloakTestResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = DemoBrokerResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = KeycloakLoginAddressLimitIT.Limits.class, restrictToAnnotatedClass = true)
class KeycloakLoginAddressLimitIT {

    public static class Limits implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            return Map.of("broker.login.rate-limit.per-user", "100", "broker.login.rate-limit.per-address", "4");
        }

        @Override
        public void stop() {
        }
    }

    @Test
    void attemptsFromOneAddressAreRateLimited() {
        brokerLogin("demo", "demo").then().statusCode(200);
        for (int i = 0; i < 3; i++) {
            brokerLogin("someone-" + i, "wrong").then().statusCode(401);
        }
        Response limited = brokerLogin("someone-else", "wrong");
        limited.then().statusCode(429).contentType("application/problem+json");
        assertThat(Integer.parseInt(limited.header("Retry-After"))).isBetween(1, 60);
        // also with the right password, until the window has room again
        brokerLogin("alice", "alice").then().statusCode(429);
    }
}
