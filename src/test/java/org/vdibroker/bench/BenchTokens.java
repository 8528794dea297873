package org.vdibroker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.smallrye.jwt.build.Jwt;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Per-user access tokens that the broker checks exactly as it checks Keycloak's: signed with an RSA key that the
 * benchmark generates and Keycloak imports into the realm (a realm key provider of type {@code rsa}), so Keycloak
 * publishes its public half in the realm's JWKS and the broker fetches it from there. 10,000 users then need no
 * 10,000 password logins. The key is made fresh for every run and never written anywhere but the realm file under
 * {@code target/}.
 */
public final class BenchTokens {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final KeyPair key;
    private String issuer;
    private String keyId;

    public BenchTokens() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            this.key = generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Writes {@code realm} (Keycloak's realm JSON) plus this key as a realm key provider to {@code target}; Keycloak
     * imports it at start.
     */
    /**
     * A new signing key, the demo realm with that key imported, the real Keycloak started with it (its JWKS then
     * publishes the key), and tokens the broker checks against that JWKS: how every benchmark begins.
     */
    public static BenchTokens withKeycloak(Path out) {
        BenchTokens tokens = new BenchTokens();
        // a loaded machine starts Keycloak slowly (its first start also re-augments it)
        System.setProperty("keycloak.start.timeout.seconds",
                System.getProperty("keycloak.start.timeout.seconds", "600"));
        System.setProperty("keycloak.realm.file", tokens.realmWithKey(Path.of("config/keycloak/vdi-realm.json"),
                out.resolve("vdi-realm-bench.json")).toString());
        org.vdibroker.testsupport.KeycloakServer.start();
        tokens.useRealm(org.vdibroker.testsupport.KeycloakServer.issuer(),
                org.vdibroker.testsupport.KeycloakServer.realmUrl() + "/protocol/openid-connect/certs");
        return tokens;
    }

    public Path realmWithKey(Path realm, Path target) {
        try {
            ObjectNode json = (ObjectNode) JSON.readTree(realm.toFile());
            ObjectNode provider = JSON.createObjectNode();
            provider.put("name", "vdi-bench-rsa");
            provider.put("providerId", "rsa");
            ObjectNode config = provider.putObject("config");
            config.putArray("privateKey").add(Base64.getEncoder().encodeToString(key.getPrivate().getEncoded()));
            config.putArray("certificate").add(Base64.getEncoder().encodeToString(certificate().getEncoded()));
            // below the realm's generated key: Keycloak keeps signing its own tokens with that one
            config.putArray("priority").add("10");
            config.putArray("active").add("true");
            config.putArray("enabled").add("true");
            config.putArray("algorithm").add("RS256");
            // the CPU comparison logs the demo users in hundreds of times, in parallel: brute-force detection
            // would lock them out (a benchmark realm only; the demo realm keeps it)
            json.put("bruteForceProtected", false);
            ObjectNode components = json.has("components") ? (ObjectNode) json.get("components")
                    : json.putObject("components");
            ArrayNode providers = components.has("org.keycloak.keys.KeyProvider")
                    ? (ArrayNode) components.get("org.keycloak.keys.KeyProvider")
                    : components.putArray("org.keycloak.keys.KeyProvider");
            providers.add(provider);
            Files.createDirectories(target.toAbsolutePath().getParent());
            JSON.writerWithDefaultPrettyPrinter().writeValue(target.toFile(), json);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException | org.bouncycastle.operator.OperatorCreationException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Reads the realm's JWKS as the broker does and finds the key id Keycloak gave this key (the broker picks the key
     * by the token's {@code kid}). Fails if Keycloak does not publish it.
     */
    public void useRealm(String issuer, String jwksUri) {
        try {
            HttpResponse<String> answer = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(jwksUri)).GET().build(), HttpResponse.BodyHandlers.ofString());
            BigInteger modulus = ((RSAPublicKey) key.getPublic()).getModulus();
            for (JsonNode jwk : JSON.readTree(answer.body()).path("keys")) {
                if ("RSA".equals(jwk.path("kty").asText()) && "sig".equals(jwk.path("use").asText("sig"))
                        && new BigInteger(1, Base64.getUrlDecoder().decode(jwk.path("n").asText())).equals(modulus)) {
                    this.issuer = issuer;
                    this.keyId = jwk.path("kid").asText();
                    return;
                }
            }
            throw new IllegalStateException("Keycloak does not publish the benchmark key in " + jwksUri
                    + " (was the realm imported with it?)");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A user's token: role vdi-user, the given group paths, audience vdi-broker, valid for {@code seconds}. */
    public String user(String name, Set<String> groups, long seconds) {
        return token(name, List.of("vdi-user"), groups, seconds);
    }

    public String admin(String name, long seconds) {
        return token(name, List.of("vdi-user", "vdi-admin"), Set.of("/vdi-admins"), seconds);
    }

    /** {@code count} user tokens bench-&lt;prefix&gt;-0 ... signed on all cores (2048-bit RSA: about 1 ms each). */
    public String[] users(String prefix, int count, Set<String> groups, long seconds) {
        return IntStream.range(0, count).parallel().mapToObj(i -> user(prefix + i, groups, seconds))
                .toArray(String[]::new);
    }

    /**
     * {@code count} new tokens for the users {@code prefix + 0 .. users - 1} (user {@code k % users} in turn), none
     * equal to a token minted for them before: each lives a second longer per round over the users. For reads that
     * the node must check in full, by the same users as before (no new user the broker would learn of).
     */
    public String[] fresh(String prefix, int users, int count, Set<String> groups, long seconds) {
        return IntStream.range(0, count).parallel()
                .mapToObj(k -> user(prefix + (k % users), groups, seconds + 1 + k / users)).toArray(String[]::new);
    }

    private String token(String name, List<String> roles, Set<String> groups, long seconds) {
        if (keyId == null) {
            throw new IllegalStateException("useRealm(...) first");
        }
        Instant now = Instant.now();
        return Jwt.issuer(issuer).subject("bench-sub-" + name).claim("preferred_username", name).groups(groups)
                .claim("realm_access", Map.of("roles", roles)).audience("vdi-broker").claim("azp", "vdi-client")
                .claim("typ", "Bearer").issuedAt(now.minusSeconds(5)).expiresAt(now.plusSeconds(seconds))
                .jws().keyId(keyId).sign(key.getPrivate());
    }

    private X509Certificate certificate() throws GeneralSecurityException,
            org.bouncycastle.operator.OperatorCreationException {
        X500Name subject = new X500Name("CN=vdi-bench");
        Instant now = Instant.now();
        var builder = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minusSeconds(3600)), Date.from(now.plusSeconds(7 * 24 * 3600)), subject,
                key.getPublic());
        return new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withRSA").build(key.getPrivate())));
    }
}
