package org.vdibroker.access.login;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.config.HttpClientConfig;
import io.restassured.config.RestAssuredConfig;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.SharedOverridesProfile;

/**
 * Behind an Ingress every sign-in comes from the controller's address, so the per-address limit must key on the
 * client in {@code X-Forwarded-For}, and believe that header only from a trusted proxy. Here the test client
 * (127.0.0.1) is the trusted proxy (SharedOverridesProfile); the limit is 3 attempts per address. Keycloak is not
 * reachable (the attempts fail with 503), which does not matter: an attempt counts before the identity provider is
 * asked.
 */
@QuarkusTest
@TestProfile(SharedOverridesProfile.class)
class TrustedProxyTest {

    /** A sign-in from the default local address (127.0.0.1, the trusted proxy); its status. */
    static int signIn(String user, String forwardedFor) {
        return given().header("X-Forwarded-For", forwardedFor).contentType("application/x-www-form-urlencoded")
                .formParam("username", user).formParam("password", "wrong").post("/api/v1/login").statusCode();
    }

    /** A sign-in sent from the local address {@code from} (any 127.x.y.z is this host on Linux); its status. */
    static int signInFrom(String from, String user, String forwardedFor) {
        InetAddress local;
        try {
            local = InetAddress.getByName(from);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(from, e);
        }
        // Apache HttpClient 4 (under rest-assured) binds the connection's local end to this address
        RestAssuredConfig config = RestAssuredConfig.config().httpClient(HttpClientConfig.httpClientConfig()
                .setParam("http.route.local-address", local));
        return given().config(config).header("X-Forwarded-For", forwardedFor)
                .contentType("application/x-www-form-urlencoded").formParam("username", user)
                .formParam("password", "wrong").post("/api/v1/login").statusCode();
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
