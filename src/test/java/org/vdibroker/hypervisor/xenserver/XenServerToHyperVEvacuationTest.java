package org.vdibroker.hypervisor.xenserver;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.hyperv.FakeHyperVHost;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * The move the broker was made for: a pool with templates on a XenServer pool (the fake XAPI) and a Hyper-V host (the
 * fake WS-Management host), 20 users holding sessions on XenServer; the XenServer is evacuated. No session ends, the
 * pool never drops below its spare count, and after the users log off every desktop of the pool is on Hyper-V and the
 * XenServer holds none of the pool's VMs. With a dedicated pool, owners keep their desktops until recycled.
 */
@QuarkusTest
class XenServerToHyperVEvacuationTest {

    private static final String PARENT = "C:\\VDI\\Templates\\win11.vhdx";

    static FakeXapi xen;
    static FakeHyperVHost hyperv;

    @BeforeAll
    static void peers() throws Exception {
        xen = FakeXapi.master();
        hyperv = new FakeHyperVHost("broker", "hv-secret").start();
        hyperv.model().addFile(PARENT);
        hyperv.model().addSwitch("vdi-lan");
    }

    @AfterAll
    static void stop() {
        xen.close();
        hyperv.close();
    }

    static void hypervisors(String xenId, String hypervId) {
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", xenId, "driver", "xenserver", "endpoint", xen.url(),
                        "config", Map.of("username", FakeXapi.USER, "taskTimeoutMs", "60000"),
                        "credentials", Map.of("password", FakeXapi.PASSWORD),
                        "capacity", Map.of("vcpus", 64, "memoryMb", 65536, "maxDesktops", 40),
                        "maintenance", false))
                .post("/api/v1/admin/hypervisors").then().statusCode(201);
        given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", hypervId, "driver", "hyperv", "endpoint", hyperv.endpoint(),
                        "config", hyperv.config(), "credentials", hyperv.credentials(),
                        "capacity", Map.of("vcpus", 32, "memoryMb", 131072, "maxDesktops", 40),
                        "maintenance", true)) // everything starts on XenServer
                .post("/api/v1/admin/hypervisors").then().statusCode(201);
    }

    static Map<String, Object> pool(String id, String assignment, int min, int spare, int max, String xenId,
            String hypervId) {
        Map<String, Object> pool = new HashMap<>(Api.pool(id, assignment, min, spare, max, xenId,
                List.of("/engineering")));
        pool.put("protocols", List.of("rdp"));
        pool.put("templates", List.of(Map.of("hypervisorId", xenId, "templateRef", FakeXapi.TEMPLATE),
                Map.of("hypervisorId", hypervId, "templateRef", PARENT)));
        return pool;
    }

    static long on(String poolId, String hypervisor) {
        return Api.desktops(poolId).stream().filter(d -> hypervisor.equals(d.get("hypervisorId"))).count();
    }

    static long readySpares(String poolId) {
        return Api.desktops(poolId).stream().filter(d -> "READY".equals(d.get("state")) && d.get("owner") == null)
                .count();
    }

    static long xenVmsOf(String poolId) {
        return xen.vms.values().stream().filter(v -> String.valueOf(v.get("name_label")).startsWith(poolId + "-"))
                .count();
    }

    static long hypervVmsOf(String poolId) {
        return hyperv.model().vms().stream().filter(v -> v.name.startsWith(poolId + "-")).count();
    }

    @Test
    void twentyUsersKeepTheirSessionsWhileTheFloatingPoolMovesToHyperV() {
        hypervisors("xen-move", "hv-move");
        twentyUsersMove("move", "xen-move", "hv-move");
        assertThat(hypervVmsOf("move")).isEqualTo(Api.desktops("move").size());
    }

    private void twentyUsersMove(String poolId, String xenId, String destination) {
        String[] ids = { poolId, xenId, destination };
        Api.createPool(pool(ids[0], "floating", 22, 2, 30, ids[1], ids[2]));
        await("22 ready desktops on XenServer", Duration.ofSeconds(120), () -> Api.desktopsIn(poolId, "READY") >= 22);
        Map<String, String> held = new LinkedHashMap<>();
        Map<String, String> tokens = new LinkedHashMap<>();
        for (int i = 0; i < 20; i++) {
            String token = Tokens.user("mover-" + i, "/engineering");
            JsonPath got = Api.requestDesktop(token, poolId).then().statusCode(200).extract().jsonPath();
            held.put(got.getString("id"), got.getString("desktopId"));
            tokens.put(got.getString("id"), token);
        }
        await("2 spares", Duration.ofSeconds(60), () -> readySpares(poolId) >= 2);
        assertThat(on(poolId, destination)).isZero();
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/hypervisors/" + destination + "/maintenance?enabled=false")
                .then().statusCode(200);

        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/hypervisors/" + xenId + "/evacuate").then().statusCode(200)
                .body("evacuation.inUse", org.hamcrest.Matchers.equalTo(20));
        Instant deadline = Instant.now().plusSeconds(120);
        while (Api.desktops(poolId).stream().anyMatch(d -> xenId.equals(d.get("hypervisorId"))
                && d.get("sessionId") == null)) {
            assertThat(Instant.now()).as("spares moved in time").isBefore(deadline);
            assertThat(readySpares(poolId)).as("never below the spare count").isGreaterThanOrEqualTo(2);
            assertHeld(poolId, held);
            sleep(100);
        }
        assertHeld(poolId, held);
        assertThat(on(poolId, destination)).isGreaterThanOrEqualTo(2);

        for (Map.Entry<String, String> s : held.entrySet()) {
            given().auth().oauth2(tokens.get(s.getKey())).post("/api/v1/me/sessions/" + s.getKey() + "/logoff")
                    .then().statusCode(200);
            assertThat(readySpares(poolId)).as("never below the spare count").isGreaterThanOrEqualTo(2);
        }
        await("every desktop on Hyper-V and none on XenServer", Duration.ofSeconds(180),
                () -> on(poolId, xenId) == 0 && xenVmsOf(poolId) == 0 && Api.desktopsIn(poolId, "READY") >= 22);
        assertThat(Api.desktops(poolId)).allMatch(d -> destination.equals(d.get("hypervisorId")));
        await("evacuation done", Duration.ofSeconds(20), () -> given().auth().oauth2(Api.ADMIN)
                .get("/api/v1/admin/hypervisors/" + xenId).then().extract().jsonPath().getBoolean("evacuation.done"));
    }

    @Test
    void dedicatedOwnersKeepTheirXenServerDesktopsUntilRecycled() {
        hypervisors("xen-own", "hv-own");
        Api.createPool(pool("own", "dedicated", 3, 1, 6, "xen-own", "hv-own"));
        await("3 ready desktops", Duration.ofSeconds(60), () -> Api.desktopsIn("own", "READY") >= 3);
        String carol = Tokens.user("own-carol", "/engineering");
        JsonPath got = Api.requestDesktop(carol, "own").then().statusCode(200).extract().jsonPath();
        String desktop = got.getString("desktopId");
        given().auth().oauth2(carol).post("/api/v1/me/sessions/" + got.getString("id") + "/logoff").then()
                .statusCode(200);
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/hypervisors/hv-own/maintenance?enabled=false").then()
                .statusCode(200);
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/hypervisors/xen-own/evacuate").then().statusCode(200);
        await("unowned desktops moved to Hyper-V", Duration.ofSeconds(90), () -> Api.desktops("own").stream()
                .noneMatch(d -> "xen-own".equals(d.get("hypervisorId")) && d.get("owner") == null));
        assertThat(Api.desktop("own", desktop).get("hypervisorId")).isEqualTo("xen-own");
        assertThat(given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/hypervisors/xen-own").then().extract()
                .jsonPath().getList("evacuation.waitingOwners.owner")).containsExactly("own-carol");

        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/desktops/" + desktop + "/recycle").then()
                .statusCode(200);
        await("carol's XenServer desktop gone", Duration.ofSeconds(60),
                () -> on("own", "xen-own") == 0 && xenVmsOf("own") == 0);
        await("a ready desktop", Duration.ofSeconds(60), () -> readySpares("own") >= 1);
        String fresh = Api.requestDesktop(carol, "own").then().statusCode(200).extract().jsonPath()
                .getString("desktopId");
        assertThat(Api.desktop("own", fresh).get("hypervisorId")).isEqualTo("hv-own");
    }

    private static void assertHeld(String poolId, Map<String, String> held) {
        Map<String, Map<String, Object>> byId = new HashMap<>();
        for (Map<String, Object> d : Api.desktops(poolId)) {
            byId.put((String) d.get("id"), d);
        }
        for (Map.Entry<String, String> e : held.entrySet()) {
            Map<String, Object> d = byId.get(e.getValue());
            assertThat(d).as("desktop " + e.getValue()).isNotNull();
            assertThat(d.get("sessionId")).as("desktop " + e.getValue() + " still held by its session")
                    .isEqualTo(e.getKey());
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
