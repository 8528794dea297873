package org.vdibroker.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * .rdp files signed as Windows' rdpsign signs them, checked by OpenSSL (an independent CMS verifier) over the content
 * a client rebuilds from the file's own lines, and read by FreeRDP.
 */
class RdpSignerTest {

    static TestCertificates.Issued issued;
    static RdpSigner signer;
    static final Path WORK = Path.of("target", "rdp-signing");

    @BeforeAll
    static void certificate() {
        issued = TestCertificates.selfSigned("RSA", "vdi-broker test publisher", KeyPurposeId.id_kp_serverAuth);
        signer = new RdpSigner(issued.keys().getPrivate(), List.of(issued.certificate()));
    }

    static RdpFile file(String address) {
        Connection c = new Connection("rdp", address.split(":")[0], Integer.parseInt(address.split(":")[1]), "t1",
                Instant.now().plusSeconds(60), "demo", "demo-0001");
        return ConnectionFiles.rdp(c, null, new ConnectionSettings(Map.of("redirectdrives", "1",
                "drivestoredirect", "*"), Map.of()));
    }

    @Test
    void openSslVerifiesTheSignatureOverTheContentRebuiltFromSignscope() throws Exception {
        String signed = signer.sign(file("desktop-1.example.com:3389"));

        assertThat(signed).contains("full address:s:desktop-1.example.com:3389\r\n")
                .contains("alternate full address:s:desktop-1.example.com:3389\r\n");
        // the secure settings present, in rdpsign's order; username and screen mode are not secure settings
        assertThat(signed.lines().filter(l -> l.startsWith("signscope:s:")).findFirst().orElseThrow())
                .isEqualTo("signscope:s:Full Address,Alternate Full Address,AutoReconnection Enabled,"
                        + "Prompt For Credentials,AudioMode,RedirectDrives,RedirectClipboard,DrivesToRedirect");
        assertThat(signed).endsWith("\r\n").contains("\r\nsignature:s:");
        byte[] blob = SignedRdp.signatureBlob(signed);
        ByteBuffer header = ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(header.getInt()).isEqualTo(0x00010001);
        assertThat(header.getInt()).isEqualTo(1);
        assertThat(header.getInt()).isEqualTo(blob.length - 12);
        byte[] content = SignedRdp.signedContent(signed);
        assertThat(new String(content, StandardCharsets.UTF_16LE)).startsWith("full address:s:")
                .endsWith("\r\n\0");

        assertThat(SignedRdp.opensslVerifies(signed, TestCertificates.pem(issued.certificate()), WORK.resolve("ok")))
                .isTrue();
    }

    @Test
    void changingAnySignedLineBreaksVerification() throws Exception {
        String signed = signer.sign(file("desktop-1.example.com:3389"));
        String pem = TestCertificates.pem(issued.certificate());

        String redirected = signed.replace("full address:s:desktop-1.example.com:3389\r\nusername",
                "full address:s:evil.example.com:3389\r\nusername");
        assertThat(redirected).isNotEqualTo(signed);
        assertThat(SignedRdp.opensslVerifies(redirected, pem, WORK.resolve("address"))).isFalse();

        String drives = signed.replace("drivestoredirect:s:*", "drivestoredirect:s:C:");
        assertThat(SignedRdp.opensslVerifies(drives, pem, WORK.resolve("drives"))).isFalse();

        String noAlternate = signed.replace("alternate full address:s:desktop-1.example.com:3389\r\n", "");
        assertThat(SignedRdp.opensslVerifies(noAlternate, pem, WORK.resolve("alternate"))).isFalse();

        // a certificate the client does not trust does not verify either
        String otherPem = TestCertificates.pem(TestCertificates
                .selfSigned("RSA", "someone else", KeyPurposeId.id_kp_serverAuth).certificate());
        assertThat(SignedRdp.opensslVerifies(signed, otherPem, WORK.resolve("untrusted"))).isFalse();
    }

    @Test
    void anExistingAlternateFullAddressIsKeptAndSigned() throws Exception {
        RdpFile f = file("desktop-2.example.com:3389");
        f.set("alternate full address", "desktop-2.example.com:3389");
        String signed = signer.sign(f);
        assertThat(signed.lines().filter(l -> l.startsWith("alternate full address:")).count()).isOne();
        assertThat(SignedRdp.opensslVerifies(signed, TestCertificates.pem(issued.certificate()),
                WORK.resolve("alternate-kept"))).isTrue();
    }

    @Test
    void aFileWithoutSecureSettingsIsRefused() {
        assertThatThrownBy(() -> signer.sign(new RdpFile().set("username", "demo")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * FreeRDP reads the signed file and connects to its full address: a listener on 127.0.0.1 sees the connection,
     * so the file was parsed, address included, without a format error.
     */
    @Test
    void freeRdpParsesTheSignedFileAndConnectsToItsAddress() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            listener.setSoTimeout(30_000);
            String signed = signer.sign(file("127.0.0.1:" + listener.getLocalPort()));
            Path rdp = Files.writeString(Files.createDirectories(WORK).resolve("freerdp.rdp"), signed);
            Process p = new ProcessBuilder(List.of("xvfb-run", "-a", "xfreerdp", rdp.toAbsolutePath().toString(),
                    "+auth-only", "/p:not-used", "/cert:ignore", "/timeout:10000"))
                    .redirectErrorStream(true).redirectOutput(WORK.resolve("freerdp.log").toFile()).start();
            try (Socket connection = listener.accept()) {
                assertThat(connection.getInetAddress().isLoopbackAddress()).isTrue();
            } catch (SocketTimeoutException e) {
                throw new AssertionError("FreeRDP did not connect to the file's address: "
                        + Files.readString(WORK.resolve("freerdp.log")), e);
            } finally {
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
            String log = Files.readString(WORK.resolve("freerdp.log"));
            assertThat(log).doesNotContain("hostname was not specified").doesNotContainIgnoringCase("parse");
        }
    }
}
