package org.vdibroker.testsupport;

import static io.restassured.RestAssured.given;

import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/** Small helpers the in-process tests share: define hypervisors and pools through the admin API, wait for states. */
public final class Api {

    public static final String ADMIN = Tokens.admin("root");

    private Api() {
    }

    /** A simulator hypervisor with fast, fixed latencies. */
    public static void simulator(String id, int maxDesktops, long cloneMs, long bootMs) {
        simulator(id, maxDesktops, cloneMs, bootMs, 1000);
    }

    public static void simulator(String id, int maxDesktops, long cloneMs, long bootMs, int concurrencyLimit) {
        given().auth().oauth2(ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", id, "driver", "simulator", "endpoint", "simulator://" + id,
                        "config", Map.of("cloneLatencyMs", String.valueOf(cloneMs), "bootLatencyMs",
                                String.valueOf(bootMs)),
                        "capacity", Map.of("vcpus", 100000, "memoryMb", 100000000L, "maxDesktops", maxDesktops),
                        "concurrencyLimit", concurrencyLimit))
                .post("/api/v1/admin/hypervisors").then().statusCode(201);
    }

    public static Map<String, Object> pool(String id, String assignment, int min, int spare, int max,
            String hypervisorId, List<String> groups) {
        return Map.of("id", id, "displayName", "Pool " + id, "assignment", assignment, "minSize", min, "spare",
                spare, "maxSize", max, "protocols", List.of("rdp", "spice", "vnc"),
                "desktop", Map.of("vcpus", 1, "memoryMb", 512),
                "templates", List.of(Map.of("hypervisorId", hypervisorId, "templateRef", "tmpl-" + id)),
                "entitlements", Map.of("groups", groups, "users", List.of()));
    }

    public static void createPool(Map<String, Object> pool) {
        given().auth().oauth2(ADMIN).contentType(ContentType.JSON).body(pool).post("/api/v1/admin/pools").then()
                .statusCode(201);
    }

    public static void updatePool(String id, Map<String, Object> pool) {
        given().auth().oauth2(ADMIN).contentType(ContentType.JSON).body(pool).put("/api/v1/admin/pools/" + id)
                .then().statusCode(200);
    }

    public static List<Map<String, Object>> desktops(String poolId) {
        return given().auth().oauth2(ADMIN).get("/api/v1/admin/pools/" + poolId + "/desktops").then()
                .statusCode(200).extract().jsonPath().getList("$");
    }

    /** One desktop of a pool as the admin API shows it. */
    public static Map<String, Object> desktop(String poolId, String desktopId) {
        return desktops(poolId).stream().filter(d -> desktopId.equals(d.get("id"))).findFirst()
                .orElseThrow(() -> new AssertionError("no desktop " + desktopId + " in pool " + poolId));
    }

    public static long desktopsIn(String poolId, String state) {
        return desktops(poolId).stream().filter(d -> state.equals(d.get("state"))).count();
    }

    public static Response requestDesktop(String token, String poolId) {
        return given().auth().oauth2(token).contentType(ContentType.JSON).body("{}")
                .post("/api/v1/me/pools/" + poolId + "/desktop");
    }

    public static void await(String what, Duration timeout, BooleanSupplier condition) {
        Instant deadline = Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
