package org.vdibroker.hypervisor;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.agroal.api.AgroalDataSource;
import io.quarkus.agroal.DataSource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.vdibroker.security.SecretCipher;
import org.vdibroker.testsupport.Api;

/** Hypervisor credentials are write-only in the API and encrypted in the database (H2 here). */
@QuarkusTest
public class HypervisorCredentialsTest {

    static final String SECRET = "s3cret-Pa55word-never-shown";

    @Inject
    @DataSource("embedded")
    AgroalDataSource embedded;

    @Inject
    SecretCipher cipher;

    @Test
    void credentialsAreNeverReturnedAndStoredEncrypted() throws Exception {
        List<String> logged = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                logged.add(String.valueOf(record.getMessage()) + " " + java.util.Arrays.toString(record.getParameters())
                        + " " + (record.getThrown() == null ? "" : record.getThrown().toString()));
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        root.addHandler(capture);
        try {
            credentialsAreNeverReturnedAndStoredEncrypted("hv-secret", embedded, cipher);
        } finally {
            root.removeHandler(capture);
        }
        assertThat(logged).noneMatch(line -> line.contains(SECRET));
    }

    static void credentialsAreNeverReturnedAndStoredEncrypted(String id, AgroalDataSource db, SecretCipher cipher)
            throws Exception {
        String created = given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", id, "driver", "simulator", "endpoint", "simulator://x",
                        "credentials", Map.of("username", "root", "password", SECRET),
                        "capacity", Map.of("vcpus", 8, "memoryMb", 16384, "maxDesktops", 4)))
                .post("/api/v1/admin/hypervisors").then().statusCode(201).extract().asString();
        assertThat(created).doesNotContain(SECRET).doesNotContain("credentials").contains("\"hasCredentials\":true");
        assertThat(given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/hypervisors/" + id).then().statusCode(200)
                .extract().asString()).doesNotContain(SECRET).doesNotContain("\"password\"");
        assertThat(given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/hypervisors").then().statusCode(200)
                .extract().asString()).doesNotContain(SECRET);
        // an update without credentials keeps the stored ones
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", id, "driver", "simulator", "endpoint", "simulator://y",
                        "capacity", Map.of("vcpus", 8, "memoryMb", 16384, "maxDesktops", 4)))
                .put("/api/v1/admin/hypervisors/" + id).then().statusCode(200);
        // the driver type cannot change, and an unknown hypervisor is 404, before any hypervisor is asked
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", id, "driver", "libvirt", "endpoint", "qemu:///system",
                        "capacity", Map.of("vcpus", 8, "memoryMb", 16384, "maxDesktops", 4)))
                .put("/api/v1/admin/hypervisors/" + id).then().statusCode(400)
                .body("detail", org.hamcrest.Matchers.containsString("driver type"));
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", id + "-none", "driver", "simulator", "endpoint", "simulator://y",
                        "capacity", Map.of("vcpus", 8, "memoryMb", 16384, "maxDesktops", 4)))
                .put("/api/v1/admin/hypervisors/" + id + "-none").then().statusCode(404);
        // audit events do not carry it either
        assertThat(given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/audit?size=500").then().statusCode(200)
                .extract().asString()).doesNotContain(SECRET);

        try (Connection c = db.getConnection(); ResultSet rs = c.createStatement().executeQuery(
                "select * from hypervisor where id = '" + id + "'")) {
            assertThat(rs.next()).isTrue();
            int columns = rs.getMetaData().getColumnCount();
            for (int i = 1; i <= columns; i++) {
                String value = rs.getString(i);
                assertThat(value == null ? "" : value).as("column " + rs.getMetaData().getColumnName(i))
                        .doesNotContain(SECRET);
            }
            String stored = rs.getString("credentials_encrypted");
            assertThat(stored).startsWith("v2:");
            assertThat(cipher.decrypt(stored, id)).contains(SECRET).contains("root");
        }
    }

    @Inject
    HypervisorService hypervisors;
    @Inject
    org.vdibroker.BrokerConfig config;

    /**
     * A value in the first format (no key id, no associated data), as a broker before the key-id format stored it, is
     * re-sealed under the current key with the hypervisor's id bound to it, and the driver still gets the password.
     */
    @Test
    void storedCredentialsOfTheFirstFormatAreReSealed() throws Exception {
        String id = "hv-reseal";
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", id, "driver", "simulator", "endpoint", "simulator://r",
                        "credentials", Map.of("username", "root", "password", SECRET),
                        "capacity", Map.of("vcpus", 8, "memoryMb", 16384, "maxDesktops", 4)))
                .post("/api/v1/admin/hypervisors").then().statusCode(201);
        byte[] raw = java.util.Base64.getDecoder().decode(java.nio.file.Files.readString(
                java.nio.file.Path.of(config.dataDir(), "secret.key")).trim());
        byte[] iv = new byte[12];
        javax.crypto.Cipher gcm = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
        gcm.init(javax.crypto.Cipher.ENCRYPT_MODE, new javax.crypto.spec.SecretKeySpec(raw, "AES"),
                new javax.crypto.spec.GCMParameterSpec(128, iv));
        byte[] sealed = gcm.doFinal(("{\"username\":\"root\",\"password\":\"" + SECRET + "\"}").getBytes(
                java.nio.charset.StandardCharsets.UTF_8));
        byte[] out = new byte[iv.length + sealed.length];
        System.arraycopy(sealed, 0, out, iv.length, sealed.length);
        String v1 = "v1:" + java.util.Base64.getEncoder().encodeToString(out);
        try (Connection c = embedded.getConnection(); var update = c.prepareStatement(
                "update hypervisor set credentials_encrypted = ? where id = ?")) {
            update.setString(1, v1);
            update.setString(2, id);
            assertThat(update.executeUpdate()).isEqualTo(1);
        }

        assertThat(hypervisors.resealCredentials()).isGreaterThanOrEqualTo(1);

        try (Connection c = embedded.getConnection(); ResultSet rs = c.createStatement().executeQuery(
                "select credentials_encrypted from hypervisor where id = '" + id + "'")) {
            assertThat(rs.next()).isTrue();
            String stored = rs.getString(1);
            assertThat(stored).startsWith("v2:");
            assertThat(cipher.isCurrent(stored)).isTrue();
            assertThat(cipher.decrypt(stored, id)).contains(SECRET);
        }
        assertThat(hypervisors.resealCredentials()).as("nothing left to re-seal").isZero();
    }
}
