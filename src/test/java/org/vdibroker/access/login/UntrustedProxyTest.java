package org.vdibroker.access.login;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.SharedOverridesProfile;

/**
 * Forwarding is on, but the test client, connecting from 127.0.0.2, is not among the trusted proxies (only 127.0.0.1
 * is, SharedOverridesProfile): its {@code X-Forwarded-For} is ignored, so a client cannot dodge the per-address limit
 * by making up a new address for every attempt.
 */
@QuarkusTest
@TestProfile(SharedOverridesProfile.class)
class UntrustedProxyTest {

    private static final String UNTRUSTED_PEER = "127.0.0.2";

    @Test
    void aForwardedForHeaderFromAnUntrustedPeerIsIgnored() {
        for (int i = 0; i < 3; i++) {
            assertThat(TrustedProxyTest.signInFrom(UNTRUSTED_PEER, "spoofer-" + i, "203.0.113." + i))
                    .as("attempt %d", i + 1).isNotEqualTo(429);
        }
        assertThat(TrustedProxyTest.signInFrom(UNTRUSTED_PEER, "spoofer-4", "203.0.113.99"))
                .as("4th attempt, made-up address").isEqualTo(429);
        // the limit was the peer's own: the trusted proxy (127.0.0.1) is still let through for another client
        assertThat(TrustedProxyTest.signIn("after-spoofer", "203.0.113.200")).isNotEqualTo(429);
    }
}
