package org.vdibroker.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Per-desktop agent secrets: generated at provisioning and again at every refresh, handed to the guest through the
 * hypervisor's metadata, and stored only as a SHA-256 hash.
 */
public final class AgentSecrets {

    /** Key of the secret in the metadata given to the guest. */
    public static final String METADATA_KEY = "vdi.agent-secret";

    private static final SecureRandom RANDOM = new SecureRandom();

    private AgentSecrets() {
    }

    /** A new secret for one desktop: 24 random bytes, hex. */
    public static String newSecret() {
        byte[] b = new byte[24];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    public static String hash(String secret) {
        try {
            return HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Compares in constant time, so the check leaks nothing about the stored hash. */
    public static boolean matches(String secret, String storedHash) {
        if (secret == null || storedHash == null) {
            return false;
        }
        return MessageDigest.isEqual(hash(secret).getBytes(StandardCharsets.UTF_8),
                storedHash.getBytes(StandardCharsets.UTF_8));
    }
}
