package org.vdibroker.security;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.security.KeyPairGenerator;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Tokens;

/**
 * The node's cache of checked tokens, through the HTTP API with OIDC's real check: a checked token is answered from
 * the cache (the hit counter grows) until its {@code exp} and refused after it; no token that fails any part of the
 * check is ever held, however often it is sent.
 */
@QuarkusTest
class TokenCacheTest {

    static final String PROBLEM = "application/problem+json";

    @Inject
    VerifiedTokens tokens;

    @Inject
    MeterRegistry meters;

    @Test
    void aCheckedTokenIsAnsweredFromTheCacheAndRefusedOnceExpired() throws Exception {
        Instant exp = Instant.now().plusSeconds(10);
        String token = Tokens.token("cache-exp", Set.of("vdi-user"), Set.of("/engineering"), exp);
        assertThat(tokens.holds(token)).isFalse();
        double hits = count("vdi.token.cache.hits");

        given().auth().oauth2(token).get("/api/v1/me/pools").then().statusCode(200);
        assertThat(tokens.holds(token)).as("held after the full check").isTrue();
        for (int i = 0; i < 3; i++) {
            given().auth().oauth2(token).get("/api/v1/me/pools").then().statusCode(200);
        }
        assertThat(count("vdi.token.cache.hits") - hits).as("answered from the cache").isGreaterThanOrEqualTo(3);

        // the entry's life ends at exp: the cached token is refused exactly as an uncached expired one
        Thread.sleep(Math.max(0, exp.toEpochMilli() - System.currentTimeMillis()) + 1500);
        given().auth().oauth2(token).get("/api/v1/me/pools").then().statusCode(401).contentType(PROBLEM);
        assertThat(tokens.holds(token)).isFalse();
    }

    @Test
    void tokensThatFailAnyPartOfTheCheckAreNeverHeld() throws Exception {
        String noSubject = Tokens.withoutSubject("cache-nosub", "/engineering");
        String otherAudience = Tokens.foreign("cache-aud", Tokens.ISSUER, "another-client", Set.of("vdi-user"));
        String otherIssuer = Tokens.foreign("cache-iss", "https://evil.example/realms/vdi", "vdi-broker",
                Set.of("vdi-user"));
        String expired = Tokens.token("cache-old", Set.of("vdi-user"), Set.of("/engineering"),
                Instant.now().minusSeconds(30));
        String good = Tokens.user("cache-good", "/engineering");
        String[] parts = good.split("\\.");
        String badSignature = parts[0] + "." + parts[1] + "." + new StringBuilder(parts[2]).reverse();
        var untrusted = KeyPairGenerator.getInstance("RSA");
        untrusted.initialize(2048);
        Instant now = Instant.now();
        String untrustedKey = io.smallrye.jwt.build.Jwt.issuer(Tokens.ISSUER).subject("sub-cache-mallory")
                .claim("preferred_username", "cache-mallory")
                .claim("realm_access", Map.of("roles", List.of("vdi-user", "vdi-admin"))).audience("vdi-broker")
                .issuedAt(now).expiresAt(now.plusSeconds(600)).jws().keyId("test")
                .sign(untrusted.generateKeyPair().getPrivate());

        for (String refused : List.of(noSubject, otherAudience, otherIssuer, expired, badSignature, untrustedKey)) {
            for (int i = 0; i < 3; i++) {
                given().auth().oauth2(refused).get("/api/v1/me/pools").then().statusCode(401);
            }
            assertThat(tokens.holds(refused)).isFalse();
        }
        // the good token whose signature was bent is still held on its own after it passed
        given().auth().oauth2(good).get("/api/v1/me/pools").then().statusCode(200);
        assertThat(tokens.holds(good)).isTrue();
        given().auth().oauth2(badSignature).get("/api/v1/me/pools").then().statusCode(401);
    }

    @Test
    void aCachedIdentityKeepsItsRolesAndSubject() {
        String user = Tokens.userWithSubject("cache-roles", "sub-cache-roles", "/engineering");
        for (int i = 0; i < 3; i++) {
            given().auth().oauth2(user).get("/api/v1/admin/pools").then().statusCode(403);
            given().auth().oauth2(user).get("/api/v1/me/sessions").then().statusCode(200);
        }
        String admin = Tokens.admin("cache-admin");
        for (int i = 0; i < 3; i++) {
            given().auth().oauth2(admin).get("/api/v1/admin/pools").then().statusCode(200);
        }
        assertThat(tokens.holds(user)).isTrue();
        assertThat(tokens.holds(admin)).isTrue();
    }

    private double count(String name) {
        return meters.get(name).counter().count();
    }
}
