package org.vdibroker.protocol;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasKey;
import static org.vdibroker.testsupport.Api.await;
import static org.vdibroker.testsupport.Management.management;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.SharedOverridesProfile;
import org.vdibroker.testsupport.Tokens;

/**
 * Per-pool settings in the files users download, refused when a client would not understand them or the broker
 * writes them itself; .rdp files signed with the configured certificate, with the RD Gateway token in them.
 */
@QuarkusTest
// SharedOverridesProfile: a broker with a signing certificate (made as an operator would) and an RD Gateway
@TestProfile(SharedOverridesProfile.class)
class ConnectionFileSettingsTest {

    static final Path KEYSTORE = SharedOverridesProfile.RDP_KEYSTORE;
    static final String PASSWORD = SharedOverridesProfile.RDP_KEYSTORE_PASSWORD;

    @Inject
    TicketService tickets;

    @Test
    void poolSettingsAppearInSignedRdpAndInVvFiles() throws Exception {
        Api.simulator("sim-files", 10, 50, 50);
        Map<String, Object> pool = new HashMap<>(Api.pool("files", "floating", 1, 1, 3, "sim-files",
                List.of("/engineering")));
        pool.put("connectionSettings", Map.of(
                "rdp", Map.of("redirectdrives", "1", "drivestoredirect", "*", "audiomode", "2", "use multimon", "1"),
                "vv", Map.of("enable-usbredir", "1", "fullscreen", "1", "secure-channels", "all")));
        Api.createPool(pool);
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/files").then().statusCode(200)
                .body("connectionSettings.rdp.redirectdrives", org.hamcrest.Matchers.is("1"))
                .body("connectionSettings.vv", hasKey("enable-usbredir"));
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("files", "READY") >= 1);

        String token = Tokens.user("filer", "/engineering");
        String sessionId = given().auth().oauth2(token).post("/api/v1/me/pools/files/desktop").then()
                .statusCode(200).extract().jsonPath().getString("id");

        String rdp = given().auth().oauth2(token).get("/api/v1/me/sessions/" + sessionId + "/connection.rdp")
                .then().statusCode(200).contentType("application/x-rdp").extract().asString();
        assertThat(rdp).contains("redirectdrives:i:1\r\n", "drivestoredirect:s:*\r\n", "audiomode:i:2\r\n",
                "use multimon:i:1\r\n", "redirectclipboard:i:1\r\n", "username:s:filer\r\n");
        // signed with the configured certificate, verified by OpenSSL; the gateway settings are in the signed scope
        assertThat(rdp).contains("signscope:s:Full Address,Alternate Full Address,").contains("GatewayHostname")
                .contains("GatewayCredentialsSource").contains("\r\nsignature:s:");
        assertThat(SignedRdp.opensslVerifies(rdp, TestCertificates.pem(certificate()),
                Path.of("target", "rdp-signing", "http"))).isTrue();

        // the RD Gateway token: token authentication, and the gateway can redeem the token once
        assertThat(rdp).contains("gatewayhostname:s:gateway.example.com\r\n", "gatewaycredentialssource:i:5\r\n");
        String token1 = rdp.lines().filter(l -> l.startsWith("gatewayaccesstoken:s:")).findFirst().orElseThrow()
                .substring("gatewayaccesstoken:s:".length());
        assertThat(tickets.redeem(token1)).isPresent().get().extracting(TicketState::sessionId).isEqualTo(sessionId);
        assertThat(tickets.redeem(token1)).isEmpty();

        String vv = given().auth().oauth2(token).get("/api/v1/me/sessions/" + sessionId + "/connection.vv")
                .then().statusCode(200).contentType("application/x-virt-viewer").extract().asString();
        assertThat(vv).contains("enable-usbredir=1\r\n", "fullscreen=1\r\n", "secure-channels=all\r\n");

        // readiness names the certificate, and it is the configured one
        JsonPath ready = management().get("/q/health/ready").then().statusCode(200).extract().jsonPath();
        assertThat(ready.getString("checks.find { it.name == 'rdp-signing' }.data.thumbprint-sha1"))
                .isEqualTo(RdpSigning.thumbprint(certificate(), "SHA-1"));
    }

    @Test
    void unknownReservedOrMalformedSettingsAreRefusedNamingThem() {
        Api.simulator("sim-bad-settings", 10, 50, 50);
        assertRefused(Map.of("rdp", Map.of("no such setting", "1")), "connectionSettings.rdp.no such setting",
                "unknown rdp setting");
        assertRefused(Map.of("rdp", Map.of("alternate shell", "cmd.exe")), "connectionSettings.rdp.alternate shell",
                "written by the broker");
        assertRefused(Map.of("rdp", Map.of("full address", "evil.example.com")),
                "connectionSettings.rdp.full address", "written by the broker");
        assertRefused(Map.of("rdp", Map.of("audiomode", "7")), "connectionSettings.rdp.audiomode", "one of");
        assertRefused(Map.of("rdp", Map.of("drivestoredirect", "C:\r\nalternate shell:s:cmd.exe")),
                "connectionSettings.rdp.drivestoredirect", "invalid value");
        assertRefused(Map.of("vv", Map.of("proxy", "http://evil.example.com")), "connectionSettings.vv.proxy",
                "written by the broker");
        assertRefused(Map.of("vv", Map.of("enable-usbredir", "yes")), "connectionSettings.vv.enable-usbredir",
                "whole number");
        assertRefused(Map.of("vv", Map.of("ca", "not a certificate")), "connectionSettings.vv.ca", "PEM");
        // nothing of a refused pool was saved
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/bad-settings").then().statusCode(404);
    }

    @Test
    void aCaCertificateIsWrittenOnOneLineAsVirtViewerReadsIt() {
        Api.simulator("sim-ca", 10, 50, 50);
        Map<String, Object> pool = new HashMap<>(Api.pool("ca-pool", "floating", 1, 1, 3, "sim-ca",
                List.of("/engineering")));
        String pem = TestCertificates.pem(TestCertificates.selfSigned("RSA", "spice ca",
                KeyPurposeId.id_kp_serverAuth).certificate());
        pool.put("connectionSettings", Map.of("vv", Map.of("ca", pem, "host-subject", "C=DE, O=Example, CN=host1")));
        Api.createPool(pool);
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("ca-pool", "READY") >= 1);
        String token = Tokens.user("spicy", "/engineering");
        String sessionId = given().auth().oauth2(token).contentType(ContentType.JSON).body("{\"protocol\":\"spice\"}")
                .post("/api/v1/me/pools/ca-pool/desktop").then().statusCode(200).extract().jsonPath().getString("id");
        String vv = given().auth().oauth2(token).get("/api/v1/me/sessions/" + sessionId + "/connection.vv")
                .then().statusCode(200).extract().asString();
        String caLine = vv.lines().filter(l -> l.startsWith("ca=")).findFirst().orElseThrow();
        assertThat(caLine).startsWith("ca=-----BEGIN CERTIFICATE-----\\n").endsWith("-----END CERTIFICATE-----")
                .doesNotContain("\n");
        assertThat(vv).contains("host-subject=C=DE, O=Example, CN=host1\r\n");
    }

    private static void assertRefused(Map<String, Object> settings, String field, String message) {
        Map<String, Object> pool = new HashMap<>(Api.pool("bad-settings", "floating", 0, 0, 1, "sim-bad-settings",
                List.of("/engineering")));
        pool.put("connectionSettings", settings);
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON).body(pool).post("/api/v1/admin/pools").then()
                .statusCode(400).contentType("application/problem+json")
                .body("errors", hasKey(field)).body("errors.'" + field + "'", containsString(message));
    }

    private static X509Certificate certificate() throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (var in = java.nio.file.Files.newInputStream(KEYSTORE)) {
            store.load(in, PASSWORD.toCharArray());
        }
        return (X509Certificate) store.getCertificate("rdp-signing");
    }
}
