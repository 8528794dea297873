package org.vdibroker.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.it.KeycloakLoginIT.brokerLogin;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.DemoBrokerResource;
import org.vdibroker.testsupport.KeycloakTestResource;

/** Password sign-ins and token refreshes through the broker are limited per client address, each on its own. */
@QuarkusIntegrationTest
@QuarkusTestResource(value = KeycloakTestResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = DemoBrokerResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = KeycloakLoginAddressLimitIT.Limits.class, restrictToAnnotatedClass = true)
class KeycloakLoginAddressLimitIT {

    public static class Limits implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            return Map.of("broker.login.rate-limit.per-user", "100", "broker.login.rate-limit.per-address", "4",
                    "broker.login.rate-limit.refreshes-per-address", "3");
        }

        @Override
        public void stop() {
        }
    }

    /**
     * The limiter's window slides approximately: it counts per slot of one window (here a minute of the wall clock)
     * and weighs the previous slot by how much of it is still inside the window, so attempts that straddle a slot
     * boundary can add up to just under the limit (three refreshes at :59.8 and one at :00.1 weigh 2.99). The tests
     * make their attempts within one slot, as a burst of a few hundred milliseconds nearly always is.
     */
    private static void withinOneSlot() throws InterruptedException {
        long intoSlot = System.currentTimeMillis() % 60_000;
        if (intoSlot > 55_000) {
            Thread.sleep(60_000 - intoSlot + 200);
        }
    }

    @Test
    void attemptsFromOneAddressAreRateLimited() throws InterruptedException {
        withinOneSlot();
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

    @Test
    void refreshesFromOneAddressAreRateLimited() throws InterruptedException {
        withinOneSlot();
        for (int i = 0; i < 3; i++) {
            given().contentType(ContentType.JSON).body(Map.of("refresh_token", "not-a-refresh-token-" + i))
                    .post("/api/v1/login/refresh").then().statusCode(401);
        }
        Response limited = given().contentType(ContentType.JSON).body(Map.of("refresh_token", "another"))
                .post("/api/v1/login/refresh");
        limited.then().statusCode(429).contentType("application/problem+json");
        assertThat(Integer.parseInt(limited.header("Retry-After"))).isBetween(1, 60);
        assertThat(limited.jsonPath().getString("type")).endsWith("/too-many-sign-in-attempts");
    }
}
