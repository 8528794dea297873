package org.vdibroker.access.login;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Forwarding is on, but the test client (127.0.0.1) is not among the trusted proxies: its {@code X-Forwarded-For}
 * is ignored, so a client cannot dodge the per-address limit by making up a new address for every attempt.
 */
@QuarkusTest
@TestProfile(UntrustedProxyTest.BehindAnotherProxy.class)
class UntrustedProxyTest {

    public static class BehindAnotherProxy implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return TrustedProxyTest.forwardingTrusting("192.0.2.1");
        }
    }

    @Test
    void aForwardedForHeaderFromAnUntrustedPeerIsIgnored() {
        for (int i = 0; i < 3; i++) {
            assertThat(TrustedProxyTest.signIn("spoofer-" + i, "203.0.113." + i)).as("attempt %d", i + 1)
                    .isNotEqualTo(429);
        }
        assertThat(TrustedProxyTest.signIn("spoofer-4", "203.0.113.99")).as("4th attempt, made-up address")
                .isEqualTo(429);
    }
}
