package org.vdibroker.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarkus.oidc.AccessTokenCredential;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.junit.jupiter.api.Test;

/** The cache's own rules, on a clock the test moves: life until exp or max-age, bounded, off at size 0. */
class VerifiedTokensTest {

    final AtomicLong now = new AtomicLong(1_800_000_000_000L);
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    @Test
    void anEntryEndsAtTheTokensExpiryEvenWithALongerMaxAge() {
        VerifiedTokens tokens = new VerifiedTokens(100, Duration.ofHours(1), meters, now::get);
        tokens.remember(identity("t1", now.get() / 1000 + 30, true));
        assertThat(tokens.lookup("t1", null)).isNotNull();
        assertThat(tokens.lookup("t1", null).getRoles()).containsExactly("vdi-user");
        assertThat(tokens.lookup("t1", null).getPrincipal().getName()).isEqualTo("sub-t1");
        now.addAndGet(29_999);
        assertThat(tokens.lookup("t1", null)).isNotNull();
        now.addAndGet(1);
        assertThat(tokens.lookup("t1", null)).as("at exp").isNull();
        assertThat(meters.get("vdi.token.cache.hits").counter().count()).isEqualTo(4);
        assertThat(meters.get("vdi.token.cache.misses").counter().count()).isEqualTo(1);
    }

    @Test
    void anEntryEndsAfterTheMaxAgeWhenTheTokenLivesLonger() {
        VerifiedTokens tokens = new VerifiedTokens(100, Duration.ofSeconds(10), meters, now::get);
        tokens.remember(identity("t2", now.get() / 1000 + 3600, true));
        now.addAndGet(9_999);
        assertThat(tokens.lookup("t2", null)).isNotNull();
        now.addAndGet(1);
        assertThat(tokens.lookup("t2", null)).isNull();
    }

    @Test
    void onlyTheExactTokenMatchesAndExpiredOrForeignIdentitiesAreNotHeld() {
        VerifiedTokens tokens = new VerifiedTokens(100, Duration.ofMinutes(2), meters, now::get);
        tokens.remember(identity("t3", now.get() / 1000 + 60, true));
        assertThat(tokens.lookup("t3x", null)).isNull();
        assertThat(tokens.lookup("t", null)).isNull();
        tokens.remember(identity("old", now.get() / 1000, true));
        assertThat(tokens.holds("old")).as("expired now").isFalse();
        tokens.remember(identity("mismatch", now.get() / 1000 + 60, false));
        assertThat(tokens.holds("mismatch")).as("credential is not the principal's token").isFalse();
        // an identity handed out from the cache is not put back (its max age would start again)
        SecurityIdentity hit = tokens.lookup("t3", null);
        assertThat(hit.<Object>getAttribute(VerifiedTokens.FROM_CACHE)).isEqualTo(Boolean.TRUE);
        assertThat(tokens.lookup("t3", null).<Object>getAttribute(VerifiedTokens.ROUTING_CONTEXT)).isNull();
    }

    @Test
    void theCacheIsBoundedAndSizeZeroTurnsItOff() {
        VerifiedTokens bounded = new VerifiedTokens(10, Duration.ofMinutes(2), meters, now::get);
        for (int i = 0; i < 200; i++) {
            bounded.remember(identity("b" + i, now.get() / 1000 + 60, true));
        }
        assertThat(bounded.size()).isLessThanOrEqualTo(10);

        VerifiedTokens off = new VerifiedTokens(0, Duration.ofMinutes(2), new SimpleMeterRegistry(), now::get);
        off.remember(identity("z", now.get() / 1000 + 60, true));
        assertThat(off.holds("z")).isFalse();
        assertThat(off.lookup("z", null)).isNull();
    }

    /**
     * A full cache keeps the newest tokens, not those used most: a client sends its fresh token a few times within
     * seconds (pools, desktop, session), while the tokens already held were each used once or twice too. Caffeine's
     * frequency-based admission refused a newcomer whenever the entry it would evict had been used as often, so once
     * the cache was full a new token stayed only while among the newest 1 % (a benchmark's "token seen before"
     * requests were checked in full again).
     */
    @Test
    void aFullCacheKeepsTheNewestTokens() {
        VerifiedTokens tokens = new VerifiedTokens(1000, Duration.ofMinutes(2), meters, now::get);
        for (int i = 0; i < 3000; i++) { // a storm's first users: each token checked and used once more
            tokens.remember(identity("early" + i, now.get() / 1000 + 300, true));
            tokens.lookup("early" + i, null);
        }
        for (int i = 0; i < 500; i++) {
            tokens.remember(identity("new" + i, now.get() / 1000 + 300, true));
        }
        for (int i = 0; i < 500; i++) {
            assertThat(tokens.lookup("new" + i, null)).as("token new%d, one of the 500 newest", i).isNotNull();
        }
        assertThat(tokens.size()).isLessThanOrEqualTo(1000);
        assertThat(tokens.holds("early0")).as("the oldest went first").isFalse();
    }

    private static SecurityIdentity identity(String token, long exp, boolean matching) {
        Map<String, Object> claims = Map.of("sub", "sub-" + token, "exp", exp, "raw_token",
                matching ? token : token + "-other");
        JsonWebToken jwt = new JsonWebToken() {
            @Override
            public String getName() {
                return "sub-" + token;
            }

            @Override
            public Set<String> getClaimNames() {
                return claims.keySet();
            }

            @SuppressWarnings("unchecked")
            @Override
            public <T> T getClaim(String name) {
                return (T) claims.get(name);
            }
        };
        return QuarkusSecurityIdentity.builder().setPrincipal(jwt).addRole("vdi-user")
                .addCredential(new AccessTokenCredential(token)).addAttribute(VerifiedTokens.ROUTING_CONTEXT, "rc")
                .build();
    }
}
