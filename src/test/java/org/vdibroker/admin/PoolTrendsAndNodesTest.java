package org.vdibroker.admin;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.vdibroker.testsupport.Management.management;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * What the admin console's charts and nodes tab read: a pool's ready spares, spare target and queue over time and
 * how long each user waited for a desktop; the cluster's members. Admins only.
 */
@QuarkusTest
class PoolTrendsAndNodesTest {

    @Test
    void trendsShowTheQueueRisingAndFallingAndEachWaitForADesktop() throws Exception {
        Api.simulator("sim-trends", 1, 50, 50);
        Api.createPool(Api.pool("trends", "floating", 0, 1, 1, "sim-trends", List.of("/engineering")));
        Api.await("a ready spare", Duration.ofSeconds(30), () -> Api.desktopsIn("trends", "READY") == 1);
        Api.await("a sample with the spare", Duration.ofSeconds(10), () -> last(trends()).ready() == 1);
        assertThat(last(trends()).target()).as("the pool's spare count").isEqualTo(1);

        String first = Tokens.user("trend-first", "/engineering");
        String second = Tokens.user("trend-second", "/engineering");
        String firstSession = Api.requestDesktop(first, "trends").then().statusCode(200).extract().path("id");
        Api.requestDesktop(second, "trends").then().statusCode(202); // the pool's only desktop is taken: queued
        Api.await("a sample with the queue", Duration.ofSeconds(10), () -> last(trends()).queue() == 1);
        assertThat(last(trends()).ready()).isZero();
        Thread.sleep(1000); // the second user waits at least this long

        given().auth().oauth2(first).post("/api/v1/me/sessions/" + firstSession + "/logoff").then().statusCode(200);
        Api.await("two desktops assigned", Duration.ofSeconds(30), () -> trends().getList("timeToDesktop").size() == 2);
        List<Float> waits = trends().getList("timeToDesktop.seconds", Float.class);
        assertThat(waits.get(0)).as("the first user got the spare at once").isLessThan(1f);
        assertThat(waits.get(1)).as("the second waited in the queue").isGreaterThanOrEqualTo(1f);
        Api.await("the queue empty again", Duration.ofSeconds(10), () -> last(trends()).queue() == 0);

        JsonPath all = trends();
        assertThat(all.getString("poolId")).isEqualTo("trends");
        assertThat(all.getLong("sampleIntervalSeconds")).isEqualTo(1);
        assertThat(all.getList("samples.queue", Integer.class)).as("the series over time").contains(0, 1);
    }

    @Test
    void trendsAreForAdminsAndSayWhatIsWrong() {
        given().get("/api/v1/admin/pools/trends-none/trends").then().statusCode(401);
        given().auth().oauth2(Tokens.user("curious", "/engineering")).get("/api/v1/admin/pools/trends-none/trends")
                .then().statusCode(403);
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/trends-none/trends").then().statusCode(404)
                .contentType("application/problem+json");
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/trends-none/trends?minutes=0").then()
                .statusCode(400).contentType("application/problem+json");
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/trends-none/trends?minutes=100000").then()
                .statusCode(400).contentType("application/problem+json");
    }

    @Test
    void nodesListsTheClusterMembersForAdminsOnly() {
        // the tests run one node without a cluster: it lists itself (ClusterIT checks three JVMs)
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/nodes").then().statusCode(200)
                .body("size()", equalTo(1)).body("[0].self", equalTo(true)).body("[0].draining", equalTo(false));
        given().get("/api/v1/admin/nodes").then().statusCode(401);
        given().auth().oauth2(Tokens.user("curious", "/engineering")).get("/api/v1/admin/nodes").then()
                .statusCode(403);
        given().auth().oauth2(Tokens.user("curious", "/engineering")).post("/api/v1/admin/nodes/self/drain").then()
                .statusCode(403);
    }

    @Test
    void adminsReadThisNodesReadinessThroughTheApi() {
        // the admin console cannot reach the management port; this endpoint relays the same readiness report
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/nodes/self/readiness").then().statusCode(200)
                .contentType("application/json").body("status", equalTo("UP"))
                .body("checks.find { it.name == 'broker-node' }.data.draining", equalTo(false))
                .body("checks.find { it.name == 'broker-node' }.data.cluster-members", equalTo(
                        management().get("/q/health/ready").then().extract().jsonPath()
                                .getInt("checks.find { it.name == 'broker-node' }.data.cluster-members")));
        given().get("/api/v1/admin/nodes/self/readiness").then().statusCode(401);
        given().auth().oauth2(Tokens.user("curious", "/engineering")).get("/api/v1/admin/nodes/self/readiness")
                .then().statusCode(403);
    }

    private record Sample(int ready, int target, int queue) {
    }

    private static JsonPath trends() {
        return given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/trends/trends").then().statusCode(200)
                .extract().jsonPath();
    }

    private static Sample last(JsonPath trends) {
        List<Map<String, Object>> samples = trends.getList("samples");
        if (samples.isEmpty()) {
            return new Sample(-1, -1, -1);
        }
        Map<String, Object> s = samples.get(samples.size() - 1);
        return new Sample((Integer) s.get("ready"), (Integer) s.get("target"), (Integer) s.get("queue"));
    }
}
