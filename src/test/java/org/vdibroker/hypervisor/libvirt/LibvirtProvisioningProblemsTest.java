package org.vdibroker.hypervisor.libvirt;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;
import static org.vdibroker.testsupport.Api.ADMIN;
import static org.vdibroker.testsupport.Api.await;
import static org.vdibroker.testsupport.Management.management;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Network;
import org.libvirt.StoragePool;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.SharedOverridesProfile;
import org.vdibroker.testsupport.Tokens;

/**
 * What an admin meets on a real libvirt host when a definition cannot work: a missing base image, a desktop larger
 * than the hypervisor, an inactive or unknown network are refused when saved (400 naming the field); a network that
 * goes down later makes every start fail, which backs off like failed provisions and shows in the pool's status, the
 * readiness details, a metric, the audit and the session of a queued user; a host whose own memory use fills the
 * declared capacity shows as "no-capacity" the same way. Networks and pools it creates have unique names and are
 * removed; the isolated network has neither address nor forwarding, so it does not touch the host's networking.
 */
@QuarkusTest
// SharedOverridesProfile: back-off as in production, scaled down (2 s doubling up to 30 s); libvirt calls may be slow
// on a busy host
@TestProfile(SharedOverridesProfile.class)
class LibvirtProvisioningProblemsTest {

    private static final String URI = "qemu:///system";
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final Path DIR = Path.of("/var/lib/libvirt/images/vdi-problems-" + RUN);
    private static final Path BASE = DIR.resolve("base.img");
    private static final String NET_OFF = "vdi-off-" + RUN;
    private static final String NET = "vdi-net-" + RUN;

    private static Connect host;
    private static StoragePool storage;

    @BeforeAll
    static void setUp() throws Exception {
        if (!Files.exists(Path.of("/dev/kvm")) && !Files.exists(Path.of("/usr/bin/qemu-system-x86_64"))) {
            Assumptions.abort("LibvirtProvisioningProblemsTest skipped: this host has neither /dev/kvm nor QEMU");
        }
        if (!Files.exists(Path.of("/var/run/libvirt/libvirt-sock"))) {
            throw new AssertionError("libvirtd is not running: run .ci/install-libvirt.sh first");
        }
        Files.createDirectories(DIR);
        Files.setPosixFilePermissions(DIR, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.write(BASE, LibvirtDesktopTest.bootDisk("vdi-broker problems"));
        host = new Connect(URI);
        storage = host.storagePoolCreateXML("<pool type='dir'><name>vdi-problems-" + RUN + "</name><target><path>"
                + DIR + "</path></target></pool>", 0);
        // defined, never started: the network README's users meet when "default" is not active
        host.networkDefineXML("<network><name>" + NET_OFF + "</name><bridge name='vo" + RUN + "'/></network>");
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (host == null) {
            return;
        }
        for (Domain d : host.listAllDomains(0)) {
            try {
                if (d.getName().startsWith("netfail" + RUN) || d.getName().startsWith("full" + RUN)) {
                    if (d.isActive() == 1) {
                        d.destroy();
                    }
                    d.undefine();
                }
            } catch (org.libvirt.LibvirtException e) {
                // gone meanwhile
            }
        }
        for (String name : List.of(NET_OFF, NET)) {
            try {
                Network n = host.networkLookupByName(name);
                if (n.isActive() == 1) {
                    n.destroy();
                }
                n.undefine();
            } catch (org.libvirt.LibvirtException e) {
                // never created
            }
        }
        storage.destroy();
        try (Stream<Path> files = Files.list(DIR)) {
            files.forEach(f -> f.toFile().delete());
        }
        Files.deleteIfExists(DIR);
        host.close();
    }

    @Test
    void definitionsThatCannotWorkAreRefusedWhenSaved() {
        Response inactive = hypervisor("off-" + RUN, Map.of("network", NET_OFF), 1_000_000);
        inactive.then().statusCode(400).contentType("application/problem+json")
                .body("type", endsWith("/invalid-hypervisor"))
                .body("errors.'config.network'", containsString("not active"));
        hypervisor("nonet-" + RUN, Map.of("network", "vdi-none-" + RUN), 1_000_000).then().statusCode(400)
                .body("errors.'config.network'", containsString("does not exist"));

        hypervisor("ok-" + RUN, Map.of(), 4096).then().statusCode(201);
        Map<String, Object> pool = pool("missing" + RUN, "ok-" + RUN, DIR.resolve("no-such.img").toString(), 0, 128);
        given().auth().oauth2(ADMIN).contentType(ContentType.JSON).body(pool).post("/api/v1/admin/pools").then()
                .statusCode(400).body("type", endsWith("/invalid-pool"))
                .body("errors.'templates[0].templateRef'", containsString("no-such.img"));
        Map<String, Object> huge = pool("huge" + RUN, "ok-" + RUN, BASE.toString(), 0, 8192);
        given().auth().oauth2(ADMIN).contentType(ContentType.JSON).body(huge).post("/api/v1/admin/pools").then()
                .statusCode(400).body("errors.desktop", containsString("4096"));
        given().auth().oauth2(ADMIN).delete("/api/v1/admin/hypervisors/ok-" + RUN).then().statusCode(204);
    }

    @Test
    void startsOnAStoppedNetworkBackOffAndThePoolSaysWhy() throws Exception {
        // persistent, so that stopping it leaves it defined but inactive, as on a host after a reboot
        Network net = host.networkDefineXML("<network><name>" + NET + "</name><bridge name='vn" + RUN
                + "'/></network>");
        net.create();
        String hv = "net-" + RUN;
        hypervisor(hv, Map.of("network", NET), 1_000_000).then().statusCode(201);
        net.destroy(); // the network goes down after the hypervisor was saved
        String poolId = "netfail" + RUN;
        given().auth().oauth2(ADMIN).contentType(ContentType.JSON).body(pool(poolId, hv, BASE.toString(), 1, 128))
                .post("/api/v1/admin/pools").then().statusCode(201);

        await("the pool reports the inactive network", Duration.ofSeconds(90), () -> "network-inactive".equals(
                status(poolId).getString("problem.kind")));
        Instant from = Instant.now();
        int before = provisions(poolId);
        Thread.sleep(30_000);
        int attempts = provisions(poolId) - before;
        // back-off 2 s doubling to 30 s: at most 4-5 trials in 30 s; without it one every couple of seconds
        assertThat(attempts).as("provisions in the 30 s from %s", from).isBetween(1, 5);

        JsonPath status = status(poolId);
        assertThat(status.getString("provisioning")).isEqualTo("blocked");
        assertThat(status.getString("problem.detail")).contains(NET).contains("not active");
        assertThat(status.getInt("problem.failures")).isGreaterThanOrEqualTo(2);
        String user = Tokens.user("quentin", "/engineering");
        JsonPath queued = given().auth().oauth2(user).contentType(ContentType.JSON).body("{}")
                .post("/api/v1/me/pools/" + poolId + "/desktop").then().statusCode(202).extract().jsonPath();
        assertThat(queued.getString("state")).isEqualTo("QUEUED");
        assertThat(queued.getString("waitingFor")).contains("network-inactive");
        assertThat(queued.get("etaSeconds") == null).as("no ETA while the pool cannot provision").isTrue();
        assertThat(management().get("/q/health/ready").then().extract().jsonPath()
                .getString("checks.find { it.name == 'broker-node' }.data.'pools-cannot-provision'"))
                .contains(poolId + ": network-inactive");
        assertThat(management().get("/q/metrics").then().statusCode(200).extract().asString())
                .containsPattern("vdi_pool_provisioning_blocked\\{pool=\"" + poolId + "\"\\} 1\\.0");
        assertThat(audit("pool.cannot-provision", poolId)).isPositive();

        given().auth().oauth2(user).post("/api/v1/me/sessions/" + queued.getString("id") + "/logoff").then()
                .statusCode(200);
        retire(poolId);
        given().auth().oauth2(ADMIN).delete("/api/v1/admin/hypervisors/" + hv).then().statusCode(204);
    }

    @Test
    void aHostWhoseOwnUseFillsTheCapacityShowsNoCapacity() throws Exception {
        String hv = "full-" + RUN;
        // 256 MiB declared: the host's own memory use alone fills it
        hypervisor(hv, Map.of(), 256).then().statusCode(201);
        String poolId = "full" + RUN;
        given().auth().oauth2(ADMIN).contentType(ContentType.JSON).body(pool(poolId, hv, BASE.toString(), 0, 128))
                .post("/api/v1/admin/pools").then().statusCode(201);
        String user = Tokens.user("ursula", "/engineering");
        String session = given().auth().oauth2(user).contentType(ContentType.JSON).body("{}")
                .post("/api/v1/me/pools/" + poolId + "/desktop").then().statusCode(202).extract().jsonPath()
                .getString("id");
        await("the pool reports no capacity", Duration.ofSeconds(60),
                () -> "no-capacity".equals(status(poolId).getString("problem.kind")));
        assertThat(status(poolId).getString("problem.detail")).contains(hv).contains("MiB in use");
        JsonPath waiting = given().auth().oauth2(user).get("/api/v1/me/sessions/" + session).then().statusCode(200)
                .extract().jsonPath();
        assertThat(waiting.getString("waitingFor")).contains("no-capacity");
        assertThat(waiting.get("etaSeconds") == null).isTrue();
        given().auth().oauth2(user).post("/api/v1/me/sessions/" + session + "/logoff").then().statusCode(200);
        await("the problem cleared once nobody waits", Duration.ofSeconds(30),
                () -> "ok".equals(status(poolId).getString("provisioning")));
        given().auth().oauth2(ADMIN).delete("/api/v1/admin/pools/" + poolId).then().statusCode(204);
        given().auth().oauth2(ADMIN).delete("/api/v1/admin/hypervisors/" + hv).then().statusCode(204);
    }

    @Test
    void poolStatusNeedsTheAdminRole() {
        given().get("/api/v1/admin/pools/nosuch/status").then().statusCode(401);
        given().auth().oauth2(Tokens.user("vera", "/engineering")).get("/api/v1/admin/pools/nosuch/status").then()
                .statusCode(403);
        given().auth().oauth2(ADMIN).get("/api/v1/admin/pools/nosuch" + RUN + "/status").then().statusCode(404);
    }

    private static Response hypervisor(String id, Map<String, String> config, long memoryMb) {
        Map<String, Object> body = new HashMap<>(Map.of("id", id, "driver", "libvirt", "endpoint", URI,
                "capacity", Map.of("vcpus", 64, "memoryMb", memoryMb, "maxDesktops", 4), "concurrencyLimit", 4));
        body.put("config", config);
        return given().auth().oauth2(ADMIN).contentType(ContentType.JSON).body(body).post("/api/v1/admin/hypervisors");
    }

    private static Map<String, Object> pool(String id, String hypervisorId, String templateRef, int min,
            long memoryMb) {
        return Map.of("id", id, "displayName", "Pool " + id, "assignment", "floating", "minSize", min, "spare", 0,
                "maxSize", 2, "protocols", List.of("vnc"), "desktop", Map.of("vcpus", 1, "memoryMb", memoryMb),
                "templates", List.of(Map.of("hypervisorId", hypervisorId, "templateRef", templateRef)),
                "entitlements", Map.of("groups", List.of("/engineering"), "users", List.of()));
    }

    private static JsonPath status(String poolId) {
        return given().auth().oauth2(ADMIN).get("/api/v1/admin/pools/" + poolId + "/status").then().statusCode(200)
                .extract().jsonPath();
    }

    private static int provisions(String poolId) {
        return audit("desktop.provisioning", poolId);
    }

    private static int audit(String kind, String poolId) {
        List<Map<String, Object>> events = given().auth().oauth2(ADMIN).get("/api/v1/admin/audit?size=500").then()
                .statusCode(200).extract().jsonPath().getList("$");
        return (int) events.stream().filter(e -> kind.equals(e.get("kind")) && poolId.equals(e.get("poolId")))
                .count();
    }

    private static void retire(String poolId) {
        Map<String, Object> empty = new HashMap<>(given().auth().oauth2(ADMIN).get("/api/v1/admin/pools/" + poolId)
                .then().statusCode(200).extract().jsonPath().getMap("$"));
        empty.put("minSize", 0);
        empty.put("maxSize", 0);
        Api.updatePool(poolId, empty);
        await("the desktops of " + poolId + " deleted", Duration.ofSeconds(60), () -> Api.desktops(poolId).isEmpty());
        given().auth().oauth2(ADMIN).delete("/api/v1/admin/pools/" + poolId).then().statusCode(204);
    }
}
