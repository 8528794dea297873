package org.vdibroker.security;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarkus.oidc.AccessTokenCredential;
import io.quarkus.oidc.runtime.OidcJwtCallerPrincipal;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Random;
import java.util.UUID;
import org.jose4j.jwt.JwtClaims;
import org.jose4j.jwt.consumer.InvalidJwtException;

/**
 * Fills a {@link VerifiedTokens} with identities shaped like the ones quarkus-oidc builds from a Keycloak access token
 * of the broker's realm (the claims Keycloak puts in one, an RS256 signature, the attributes OIDC adds per identity),
 * for benchmark 4's heap per held token. The OIDC provider's metadata, which every identity shares, is left out.
 */
public final class TokenCacheHeap {

    private TokenCacheHeap() {
    }

    /** A cache holding {@code n} tokens (kept reachable by the caller while the heap is measured). */
    public static Object fill(int n) {
        long now = System.currentTimeMillis();
        VerifiedTokens tokens = new VerifiedTokens(n, Duration.ofHours(1), new SimpleMeterRegistry(), () -> now);
        Random random = new Random(7);
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String header = b64.encodeToString(("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" + "k".repeat(43) + "\"}")
                .getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < n; i++) {
            String claims = claims(i, now / 1000);
            byte[] signature = new byte[256];
            random.nextBytes(signature);
            String token = header + '.' + b64.encodeToString(claims.getBytes(StandardCharsets.UTF_8)) + '.'
                    + b64.encodeToString(signature);
            try {
                JwtClaims parsed = JwtClaims.parse(claims);
                parsed.setClaim("raw_token", token); // as quarkus-oidc does before it builds the principal
                AccessTokenCredential credential = new AccessTokenCredential(token);
                tokens.remember(QuarkusSecurityIdentity.builder()
                        .setPrincipal(new OidcJwtCallerPrincipal(parsed, credential))
                        .addCredential(credential).addRole("vdi-user")
                        .addAttribute("quarkus.identity.expire-time", now / 1000 + 300)
                        .addAttribute("tenant-id", "Default").build());
            } catch (InvalidJwtException e) {
                throw new IllegalStateException(e);
            }
        }
        if (tokens.size() != n) {
            throw new IllegalStateException("the cache holds " + tokens.size() + " of " + n + " tokens");
        }
        return tokens;
    }

    /** What Keycloak 26 puts into an access token of a user of the vdi realm for the broker's client. */
    private static String claims(int i, long nowSeconds) {
        String user = "user-" + i;
        return "{\"exp\":" + (nowSeconds + 300) + ",\"iat\":" + nowSeconds + ",\"auth_time\":" + nowSeconds
                + ",\"jti\":\"onrtro:" + UUID.randomUUID() + "\",\"iss\":\"https://sso.example.com/realms/vdi\","
                + "\"aud\":\"vdi-broker\",\"sub\":\"" + UUID.randomUUID() + "\",\"typ\":\"Bearer\","
                + "\"azp\":\"vdi-client\",\"sid\":\"" + UUID.randomUUID() + "\",\"acr\":\"1\","
                + "\"allowed-origins\":[\"https://vdi.example.com\"],"
                + "\"realm_access\":{\"roles\":[\"vdi-user\",\"offline_access\",\"uma_authorization\"]},"
                + "\"resource_access\":{\"account\":{\"roles\":[\"manage-account\",\"view-profile\"]}},"
                + "\"scope\":\"openid profile email\",\"email_verified\":true,\"name\":\"User " + i + "\","
                + "\"groups\":[\"/engineering\",\"/staff\"],\"preferred_username\":\"" + user + "\","
                + "\"given_name\":\"User\",\"family_name\":\"" + i + "\",\"email\":\"" + user + "@example.com\"}";
    }
}
