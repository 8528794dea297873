package org.vdibroker.testsupport;

import io.smallrye.jwt.build.Jwt;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Access tokens for the in-process tests, shaped like the realm's (preferred_username, groups, realm_access.roles,
 * audience vdi-broker) and signed with the test key whose public half the test profile trusts. Tests against the
 * real Keycloak (*IT) get real tokens instead.
 */
public final class Tokens {

    public static final String ISSUER = "https://test.vdibroker/realms/vdi";
    private static final PrivateKey KEY = load();

    private Tokens() {
    }

    public static String user(String name, String... groups) {
        return token(name, Set.of("vdi-user"), Set.of(groups), Instant.now().plusSeconds(600));
    }

    /**
     * A user token with a subject of the caller's choosing: the same name under another subject is what Keycloak
     * issues for a user deleted and re-created with that name, or for a second identity provider mapping it.
     */
    public static String userWithSubject(String name, String subject, String... groups) {
        Instant now = Instant.now();
        return Jwt.issuer(ISSUER).subject(subject).claim("preferred_username", name).groups(Set.of(groups))
                .claim("realm_access", Map.of("roles", List.of("vdi-user"))).audience("vdi-broker").issuedAt(now)
                .expiresAt(now.plusSeconds(600)).jws().keyId("test").sign(KEY);
    }

    /** A user token that is valid in every way but carries no {@code sub}. */
    public static String withoutSubject(String name, String... groups) {
        Instant now = Instant.now();
        return Jwt.issuer(ISSUER).claim("preferred_username", name).groups(Set.of(groups))
                .claim("realm_access", Map.of("roles", List.of("vdi-user"))).audience("vdi-broker").issuedAt(now)
                .expiresAt(now.plusSeconds(600)).jws().keyId("test").sign(KEY);
    }

    public static String admin(String name) {
        return token(name, Set.of("vdi-user", "vdi-admin"), Set.of("/vdi-admins"), Instant.now().plusSeconds(600));
    }

    public static String withoutRoles(String name) {
        return token(name, Set.of(), Set.of("/engineering"), Instant.now().plusSeconds(600));
    }

    /** A gateway's service-account token (client credentials with the vdi-gateway role). */
    public static String gateway(String name) {
        return token(name, Set.of("vdi-gateway"), Set.of(), Instant.now().plusSeconds(600));
    }

    /** Signed with the realm's key but issued by another realm or for another client (audience). */
    public static String foreign(String name, String issuer, String audience, Set<String> roles) {
        Instant now = Instant.now();
        return Jwt.issuer(issuer).subject("sub-" + name).claim("preferred_username", name)
                .claim("realm_access", Map.of("roles", List.copyOf(roles))).audience(audience).issuedAt(now)
                .expiresAt(now.plusSeconds(600)).jws().keyId("test").sign(KEY);
    }

    public static String token(String name, Set<String> roles, Set<String> groups, Instant expiresAt) {
        return Jwt.issuer(ISSUER).subject("sub-" + name).claim("preferred_username", name).groups(groups)
                .claim("realm_access", Map.of("roles", List.copyOf(roles))).audience("vdi-broker")
                .issuedAt(expiresAt.minusSeconds(600)).expiresAt(expiresAt).jws().keyId("test").sign(KEY);
    }

    private static PrivateKey load() {
        try (InputStream in = Tokens.class.getResourceAsStream("/test-signing-key.pem")) {
            String pem = new String(in.readAllBytes(), StandardCharsets.US_ASCII)
                    .replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
            return KeyFactory.getInstance("RSA")
                    .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
        } catch (IOException | java.security.GeneralSecurityException e) {
            throw new IllegalStateException("cannot load the test signing key", e);
        }
    }
}
