package org.vdibroker.access.login;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Behind an Ingress every sign-in comes from the controller's address, so the per-address limit must key on the
 * client in {@code X-Forwarded-For}, and believe that header only from a trusted proxy. Here the test client
 * (127.0.0.1) is the trusted proxy; the limit is 3 attempts per address. Keycloak is not reachable (the attempts fail
 * with 503), which does not matter: an attempt counts before the identity provider is asked.
 */
@QuarkusTest
@TestProfile(TrustedProxyTest.BehindTrustedProxy.class)
class TrustedProxyTest {

    public static class BehindTrustedProxy implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return forwardingTrusting("127.0.0.1");
        }
    }

    /** Forwarding on, {@code trusted} the only trusted proxy, 3 attempts per address, Keycloak unreachable. */
    static Map<String, String> forwardingTrusting(String trusted) {
        return Map.of("quarkus.http.proxy.proxy-address-forwarding", "true",
                "quarkus.http.proxy.allow-x-forwarded", "true",
                "quarkus.http.proxy.trusted-proxies", trusted,
                "broker.login.rate-limit.per-address", "3",
                "broker.login.rate-limit.per-user", "1000",
                "broker.login.token-endpoint", "http://127.0.0.1:9/realms/vdi/protocol/openid-connect/token");
    }

    static int signIn(String user, String forwardedFor) {
        return given().header("X-Forwarded-For", forwardedFor).contentType("application/x-www-form-urlencoded")
                .formParam("username", user).formParam("password", "wrong").post("/api/v1/login").statusCode();
    }

    @Test
    void theLimitKeysOnTheForwardedClientOfATrustedProxy() {
        for (int i = 0; i < 3; i++) {
            assertThat(signIn("proxied-" + i, "198.51.100.7")).as("attempt %d", i + 1).isNotEqualTo(429);
        }
        assertThat(signIn("proxied-4", "198.51.100.7")).as("4th attempt from one client").isEqualTo(429);
        // another client behind the same proxy is not punished for the first one
        assertThat(signIn("proxied-5", "198.51.100.8")).isNotEqualTo(429);
    }
}
