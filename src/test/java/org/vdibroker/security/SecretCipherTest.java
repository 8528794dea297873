package org.vdibroker.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** Credentials at rest: bound to their owner, named by key id, readable across a key rotation, never echoed. */
class SecretCipherTest {

    private static final SecretKey OLD = key();
    private static final SecretKey NEW = key();

    @Test
    void aValueOpensOnlyForTheOwnerItWasSealedFor() {
        SecretCipher cipher = new SecretCipher(NEW, List.of());
        String sealed = cipher.encrypt("{\"password\":\"hunter2\"}", "hv-a");

        assertThat(sealed).startsWith("v2:").doesNotContain("hunter2");
        assertThat(cipher.decrypt(sealed, "hv-a")).isEqualTo("{\"password\":\"hunter2\"}");
        // copied onto another hypervisor's row, it does not open
        assertThatThrownBy(() -> cipher.decrypt(sealed, "hv-b")).isInstanceOf(IllegalStateException.class)
                .hasMessageNotContaining(sealed);
    }

    @Test
    void aTamperedValueIsRefused() {
        SecretCipher cipher = new SecretCipher(NEW, List.of());
        String sealed = cipher.encrypt("secret", "hv-a");
        int body = sealed.lastIndexOf(':') + 1;
        byte[] bytes = Base64.getDecoder().decode(sealed.substring(body));
        bytes[14] ^= 1; // one bit of the ciphertext
        String tampered = sealed.substring(0, body) + Base64.getEncoder().encodeToString(bytes);

        assertThatThrownBy(() -> cipher.decrypt(tampered, "hv-a")).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void afterARotationOldValuesOpenWithThePreviousKeyAndAreReSealedUnderTheNewOne() {
        String underOld = new SecretCipher(OLD, List.of()).encrypt("secret", "hv-a");
        SecretCipher rotated = new SecretCipher(NEW, List.of(OLD));

        assertThat(rotated.isCurrent(underOld)).isFalse();
        assertThat(rotated.decrypt(underOld, "hv-a")).isEqualTo("secret");
        String resealed = rotated.encrypt(rotated.decrypt(underOld, "hv-a"), "hv-a");
        assertThat(rotated.isCurrent(resealed)).isTrue();
        assertThat(resealed.split(":")[1]).isNotEqualTo(underOld.split(":")[1]); // another key id

        // once the old key is dropped, a value still under it names the missing key instead of failing silently
        SecretCipher withoutOld = new SecretCipher(NEW, List.of());
        assertThatThrownBy(() -> withoutOld.decrypt(underOld, "hv-a")).hasMessageContaining("previous-keys");
        assertThat(withoutOld.decrypt(resealed, "hv-a")).isEqualTo("secret");
    }

    @Test
    void valuesOfTheFirstFormatAreStillReadAndCountAsStale() throws Exception {
        byte[] iv = new byte[12];
        new SecureRandom().nextBytes(iv);
        Cipher gcm = Cipher.getInstance("AES/GCM/NoPadding");
        gcm.init(Cipher.ENCRYPT_MODE, NEW, new GCMParameterSpec(128, iv));
        byte[] sealed = gcm.doFinal("legacy".getBytes(StandardCharsets.UTF_8));
        byte[] out = new byte[iv.length + sealed.length];
        System.arraycopy(iv, 0, out, 0, iv.length);
        System.arraycopy(sealed, 0, out, iv.length, sealed.length);
        String v1 = "v1:" + Base64.getEncoder().encodeToString(out);

        SecretCipher cipher = new SecretCipher(NEW, List.of());
        assertThat(cipher.decrypt(v1, "any")).isEqualTo("legacy");
        assertThat(cipher.isCurrent(v1)).isFalse();
    }

    @Test
    void somethingThatIsNotASealedValueIsRefused() {
        SecretCipher cipher = new SecretCipher(NEW, List.of());
        assertThatThrownBy(() -> cipher.decrypt("plain text", "hv-a")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cipher.decrypt("v2:nocolon", "hv-a")).isInstanceOf(IllegalStateException.class);
    }

    private static SecretKey key() {
        byte[] raw = new byte[32];
        new SecureRandom().nextBytes(raw);
        return new SecretKeySpec(raw, "AES");
    }
}
