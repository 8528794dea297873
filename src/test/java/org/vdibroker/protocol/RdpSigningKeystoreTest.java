package org.vdibroker.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.Test;

/** The keystore an operator gives the broker: what is accepted, and clear refusals that never show the password. */
class RdpSigningKeystoreTest {

    static final Path DIR = Path.of("target", "rdp-signing", "keystores");

    @Test
    void aCodeSigningOrServerAuthenticationCertificateIsAccepted() {
        var code = TestCertificates.selfSigned("RSA", "code", KeyPurposeId.id_kp_codeSigning);
        RdpSigner signer = RdpSigning.load(TestCertificates.keystore(DIR.resolve("code.p12"), code, "s3cret"),
                "s3cret", null);
        assertThat(signer.certificate()).isEqualTo(code.certificate());
        assertThat(RdpSigning.thumbprint(signer.certificate(), "SHA-1")).hasSize(40).matches("[0-9A-F]+");

        var server = TestCertificates.selfSigned("RSA", "server", KeyPurposeId.id_kp_serverAuth);
        assertThat(RdpSigning.load(TestCertificates.keystore(DIR.resolve("server.p12"), server, "pw"), "pw",
                "rdp-signing").certificate()).isEqualTo(server.certificate());
    }

    @Test
    void aCertificateForOtherUsesIsRefused() {
        var email = TestCertificates.selfSigned("RSA", "mail", KeyPurposeId.id_kp_emailProtection);
        Path store = TestCertificates.keystore(DIR.resolve("email.p12"), email, "pw");
        assertThatThrownBy(() -> RdpSigning.load(store, "pw", null)).hasMessageContaining("serverAuth or codeSigning");

        var none = TestCertificates.selfSigned("RSA", "no-eku", null);
        Path noUsage = TestCertificates.keystore(DIR.resolve("none.p12"), none, "pw");
        assertThatThrownBy(() -> RdpSigning.load(noUsage, "pw", null)).hasMessageContaining("extended key usage");
    }

    @Test
    void anEcKeyIsRefused() {
        var ec = TestCertificates.selfSigned("EC", "ec", KeyPurposeId.id_kp_serverAuth);
        Path store = TestCertificates.keystore(DIR.resolve("ec.p12"), ec, "pw");
        assertThatThrownBy(() -> RdpSigning.load(store, "pw", null)).hasMessageContaining("must be RSA");
    }

    @Test
    void aWrongPasswordOrMissingFileOrAliasIsAClearErrorWithoutThePassword() {
        var ok = TestCertificates.selfSigned("RSA", "ok", KeyPurposeId.id_kp_serverAuth);
        Path store = TestCertificates.keystore(DIR.resolve("ok.p12"), ok, "right-password");
        assertThatThrownBy(() -> RdpSigning.load(store, "wrong-password-123", null))
                .hasMessageContaining("cannot read the .rdp signing keystore")
                .hasMessageNotContaining("wrong-password-123").hasMessageNotContaining("right-password");
        assertThatThrownBy(() -> RdpSigning.load(DIR.resolve("missing.p12"), "pw", null))
                .hasMessageContaining("missing.p12");
        assertThatThrownBy(() -> RdpSigning.load(store, "right-password", "other"))
                .hasMessageContaining("no private key under alias other");
    }

    /** The demo (config/run-demo.sh) makes its certificate with keytool exactly so; the broker must accept it. */
    @Test
    void theDemosKeytoolCertificateIsAccepted() throws Exception {
        Path store = DIR.resolve("keytool.p12");
        java.nio.file.Files.createDirectories(DIR);
        java.nio.file.Files.deleteIfExists(store);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "rdp-signing", "-keyalg", "RSA", "-keysize", "2048", "-validity", "365",
                "-dname", "CN=vdi-broker demo publisher", "-ext", "EKU=serverAuth,codeSigning", "-ext",
                "KU=digitalSignature", "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass",
                "demo-signing", "-keypass", "demo-signing").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).isZero();
        assertThat(RdpSigning.load(store, "demo-signing", null).certificate().getSubjectX500Principal().getName())
                .isEqualTo("CN=vdi-broker demo publisher");
        assertThat(java.nio.file.Files.readString(Path.of("config", "run-demo.sh")))
                .contains("-ext EKU=serverAuth,codeSigning -ext KU=digitalSignature");
    }
}
