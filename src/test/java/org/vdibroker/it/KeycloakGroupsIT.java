package org.vdibroker.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.DemoBrokerResource;
import org.vdibroker.testsupport.KeycloakServer;
import org.vdibroker.testsupport.KeycloakTestResource;

/**
 * Pool entitlements name Keycloak groups, checked through Keycloak's admin API with the broker's service account: a
 * pool naming an unknown group is refused, and a group renamed, removed or replaced in Keycloak afterwards shows in
 * the pool's status. Users follow their groups: members of the group get the pool, a renamed group's members lose it.
 */
@QuarkusIntegrationTest
@QuarkusTestResource(value = KeycloakTestResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = DemoBrokerResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = KeycloakGroupsIT.FastChecks.class, restrictToAnnotatedClass = true)
class KeycloakGroupsIT {

    public static class FastChecks implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            return Map.of("broker.entitlements.check-interval", "1s");
        }

        @Override
        public void stop() {
        }
    }

    /** A pool on the demo's simulator that makes no desktops until a user asks. */
    static Map<String, Object> pool(String id, List<String> groups) {
        return Map.of("id", id, "displayName", "Pool " + id, "assignment", "floating", "minSize", 0, "spare", 0,
                "maxSize", 2, "protocols", List.of("rdp"), "desktop", Map.of("vcpus", 1, "memoryMb", 1024),
                "templates", List.of(Map.of("hypervisorId", "simulator-1", "templateRef", "tpl")),
                "entitlements", Map.of("groups", groups, "users", List.of()));
    }

    @Test
    void unknownGroupsAreRefusedAndRenamedOrRemovedGroupsAreReported() {
        String admin = KeycloakServer.passwordGrant("vdi-client", "deskadmin", "deskadmin");
        String team = "it-team-" + Long.toHexString(System.nanoTime());

        // a group Keycloak does not know: refused, naming the field and the group; nothing saved
        Response unknown = given().auth().oauth2(admin).contentType(ContentType.JSON)
                .body(pool("groups-a", List.of("/engineering", "/" + team))).post("/api/v1/admin/pools");
        unknown.then().statusCode(400).contentType("application/problem+json");
        assertThat(unknown.jsonPath().getString("errors.'entitlements.groups'")).contains("/" + team);
        given().auth().oauth2(admin).get("/api/v1/admin/pools/groups-a").then().statusCode(404);

        // once the group exists (a subgroup, to show paths), the pool is saved and its groups are OK
        String parent = KeycloakServer.admin("POST", "/groups", "{\"name\":\"" + team + "\"}").body();
        KeycloakServer.AdminAnswer child = KeycloakServer.admin("POST", "/groups/" + parent + "/children",
                "{\"name\":\"qa\"}");
        assertThat(child.status()).isEqualTo(201);
        String qaPath = "/" + team + "/qa";
        given().auth().oauth2(admin).contentType(ContentType.JSON)
                .body(pool("groups-a", List.of("/engineering", qaPath))).post("/api/v1/admin/pools").then()
                .statusCode(201);
        assertThat(state(admin, "groups-a", qaPath)).isEqualTo("OK");
        assertThat(state(admin, "groups-a", "/engineering")).isEqualTo("OK");

        // bob (only in /sales) joins the subgroup: his next token entitles him
        String bobId = KeycloakServer.admin("GET", "/users?exact=true&username=bob", null).body()
                .replaceAll("(?s).*?\"id\"\\s*:\\s*\"([^\"]+)\".*", "$1");
        assertThat(KeycloakServer.admin("PUT", "/users/" + bobId + "/groups/" + child.body(), null).status())
                .isEqualTo(204);
        String bob = KeycloakServer.passwordGrant("vdi-client", "bob", "bob");
        assertThat(given().auth().oauth2(bob).post("/api/v1/me/pools/groups-a/desktop").statusCode()).isIn(200, 202);

        // renamed in Keycloak: reported, not followed
        assertThat(KeycloakServer.admin("PUT", "/groups/" + child.body(), "{\"name\":\"quality\"}").status())
                .isEqualTo(204);
        awaitState(admin, "groups-a", qaPath, "RENAMED");
        assertThat(detail(admin, "groups-a", qaPath)).contains("/" + team + "/quality");
        // bob's new token carries the new path, which the pool does not name: the report says why he lost it
        String bobAfterRename = KeycloakServer.passwordGrant("vdi-client", "bob", "bob");
        given().auth().oauth2(bobAfterRename).post("/api/v1/me/pools/groups-a/desktop").then().statusCode(403);
        assertThat(state(admin, "groups-a", "/engineering")).isEqualTo("OK");

        // removed: reported
        assertThat(KeycloakServer.admin("DELETE", "/groups/" + child.body(), null).status()).isEqualTo(204);
        awaitState(admin, "groups-a", qaPath, "REMOVED");

        // another group created under the old path: its members would be entitled, so that is reported too
        assertThat(KeycloakServer.admin("POST", "/groups/" + parent + "/children", "{\"name\":\"qa\"}").status())
                .isEqualTo(201);
        awaitState(admin, "groups-a", qaPath, "REPLACED");

        // saving the pool again accepts the group as it is now
        given().auth().oauth2(admin).contentType(ContentType.JSON)
                .body(pool("groups-a", List.of("/engineering", qaPath))).put("/api/v1/admin/pools/groups-a").then()
                .statusCode(200);
        assertThat(state(admin, "groups-a", qaPath)).isEqualTo("OK");
        assertThat(given().auth().oauth2(admin).get("/api/v1/admin/audit?size=200").then().statusCode(200)
                .extract().jsonPath().getList("kind", String.class))
                .contains("pool.entitlement-renamed", "pool.entitlement-removed", "pool.entitlement-replaced");

        // the demo pool was seeded before any check; the periodic check resolved its groups
        awaitState(admin, "demo", "/vdi-users", "OK");

        // pool status is for admins only
        String demo = KeycloakServer.passwordGrant("vdi-client", "demo", "demo");
        given().auth().oauth2(demo).get("/api/v1/admin/pools/groups-a").then().statusCode(403);
    }

    private static Map<String, Object> status(String admin, String pool, String group) {
        List<Map<String, Object>> all = given().auth().oauth2(admin).get("/api/v1/admin/pools/" + pool).then()
                .statusCode(200).extract().jsonPath().getList("groupStatus");
        return all.stream().filter(s -> group.equals(s.get("group"))).findFirst()
                .orElseThrow(() -> new AssertionError("no status for " + group + " in " + all));
    }

    private static String state(String admin, String pool, String group) {
        return (String) status(admin, pool, group).get("state");
    }

    private static String detail(String admin, String pool, String group) {
        return (String) status(admin, pool, group).get("detail");
    }

    private static void awaitState(String admin, String pool, String group, String wanted) {
        Api.await(pool + " " + group + " " + wanted, Duration.ofSeconds(30),
                () -> wanted.equals(state(admin, pool, group)));
    }
}
