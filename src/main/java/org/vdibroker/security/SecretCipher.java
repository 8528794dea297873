package org.vdibroker.security;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;

/**
 * Encrypts secrets at rest with AES-256-GCM. The output is {@code v2:<key id>:<base64(iv | ciphertext+tag)>}, sealed
 * with the owner's id as associated data, so a value copied onto another row does not decrypt. The key comes from
 * {@code broker.secrets.key}; without it, one is generated into the data directory (embedded default only). The key id
 * is a fingerprint of the key, so a rotation knows which values are still under an old key: keys given in
 * {@code broker.secrets.previous-keys} only decrypt, and {@link #isCurrent} tells the owner which values to re-seal.
 * Values of the first format ({@code v1:}, no key id, no associated data) are still read.
 */
@ApplicationScoped
public class SecretCipher {

    private static final Logger LOG = Logger.getLogger(SecretCipher.class);
    private static final String V1 = "v1:";
    private static final String V2 = "v2:";
    private static final int IV_BYTES = 12;

    private final SecureRandom random = new SecureRandom();
    private final SecretKey key;
    private final String keyId;
    /** Every key that may decrypt, the current one included, by key id. */
    private final Map<String, SecretKey> keys = new LinkedHashMap<>();

    @Inject
    public SecretCipher(BrokerConfig config) {
        this(config.secrets().key().map(SecretCipher::decodeKey)
                .orElseGet(() -> keyFromFile(Path.of(config.dataDir(), "secret.key"))),
                config.secrets().previousKeys().orElse(List.of()).stream().map(SecretCipher::decodeKey).toList());
    }

    SecretCipher(SecretKey current, List<SecretKey> previous) {
        this.key = current;
        this.keyId = keyId(current);
        keys.put(keyId, current);
        for (SecretKey old : previous) {
            keys.putIfAbsent(keyId(old), old);
        }
    }

    /** Seals {@code plaintext} for the owner {@code context} (e.g. the hypervisor's id) under the current key. */
    public String encrypt(String plaintext, String context) {
        try {
            byte[] iv = new byte[IV_BYTES];
            random.nextBytes(iv);
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, iv));
            cipher.updateAAD(aad(context));
            byte[] sealed = cipher.doFinal(plaintext.getBytes(StandardCharsets.UTF_8));
            byte[] out = new byte[iv.length + sealed.length];
            System.arraycopy(iv, 0, out, 0, iv.length);
            System.arraycopy(sealed, 0, out, iv.length, sealed.length);
            return V2 + keyId + ":" + Base64.getEncoder().encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("encryption failed", e);
        }
    }

    /** Opens a value sealed for {@code context}; fails (never echoing the value) on a wrong key, owner or tampering. */
    public String decrypt(String encrypted, String context) {
        try {
            if (encrypted.startsWith(V2)) {
                int colon = encrypted.indexOf(':', V2.length());
                if (colon < 0) {
                    throw new IllegalArgumentException("not an encrypted value");
                }
                SecretKey sealedWith = keys.get(encrypted.substring(V2.length(), colon));
                if (sealedWith == null) {
                    throw new IllegalStateException("a stored secret is sealed with a key this node does not have"
                            + " (key id " + encrypted.substring(V2.length(), colon) + "): add it to"
                            + " broker.secrets.previous-keys");
                }
                return open(sealedWith, Base64.getDecoder().decode(encrypted.substring(colon + 1)), aad(context));
            }
            if (encrypted.startsWith(V1)) {
                return open(key, Base64.getDecoder().decode(encrypted.substring(V1.length())), null);
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            // wrong key, another owner's value or a tampered value; never echo the value
            throw new IllegalStateException("cannot decrypt a stored secret: is broker.secrets.key the right key?");
        }
        throw new IllegalArgumentException("not an encrypted value");
    }

    /** Whether a stored value is sealed in the current format under the current key (else: re-seal it). */
    public boolean isCurrent(String encrypted) {
        return encrypted.startsWith(V2 + keyId + ":");
    }

    private static String open(SecretKey with, byte[] in, byte[] aad) throws GeneralSecurityException {
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(Cipher.DECRYPT_MODE, with, new GCMParameterSpec(128, in, 0, IV_BYTES));
        if (aad != null) {
            cipher.updateAAD(aad);
        }
        return new String(cipher.doFinal(in, IV_BYTES, in.length - IV_BYTES), StandardCharsets.UTF_8);
    }

    private static byte[] aad(String context) {
        return ("vdi-broker:" + context).getBytes(StandardCharsets.UTF_8);
    }

    /** The first 8 bytes of the key's SHA-256, in hex: names the key without revealing it. */
    private static String keyId(SecretKey key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getEncoded());
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static SecretKey decodeKey(String base64) {
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(base64.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("broker.secrets.key and broker.secrets.previous-keys must be base64");
        }
        if (raw.length != 32) {
            throw new IllegalStateException("broker.secrets.key must be 32 bytes, base64-encoded");
        }
        return new SecretKeySpec(raw, "AES");
    }

    private static SecretKey keyFromFile(Path file) {
        try {
            if (Files.exists(file)) {
                return decodeKey(Files.readString(file));
            }
            Files.createDirectories(file.getParent());
            KeyGenerator generator = KeyGenerator.getInstance("AES");
            generator.init(256);
            SecretKey generated = generator.generateKey();
            Files.writeString(file, Base64.getEncoder().encodeToString(generated.getEncoded()));
            try {
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system
            }
            LOG.warnf("No broker.secrets.key configured: generated one in %s (set broker.secrets.key in production)",
                    file);
            return generated;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
