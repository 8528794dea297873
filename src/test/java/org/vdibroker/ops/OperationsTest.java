package org.vdibroker.ops;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.vdibroker.testsupport.Management.management;

import io.quarkus.test.junit.QuarkusTest;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Management;
import org.vdibroker.testsupport.Tokens;

/** What load balancers and operators read: health, metrics, OpenAPI, login facts, audit. */
@QuarkusTest
class OperationsTest {

    @Test
    void healthMetricsAndOpenApiAnswerOnTheManagementPortOnly() {
        // the public port (what users and the Internet reach) serves none of them
        for (String path : List.of("/q/health", "/q/health/live", "/q/health/ready", "/q/health/started",
                "/q/metrics", "/q/openapi")) {
            given().get(path).then().statusCode(404);
        }
        assertThat(Management.port()).isPositive().isNotEqualTo(io.restassured.RestAssured.port);
        management().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
        management().get("/q/health/started").then().statusCode(200);
        management().get("/q/health/ready").then().statusCode(200).body("checks.name", hasItem("broker-node"));
        Api.simulator("sim-metrics", 10, 50, 50);
        Api.createPool(Api.pool("metrics", "floating", 1, 1, 2, "sim-metrics", List.of("/engineering")));
        Api.await("ready", java.time.Duration.ofSeconds(30), () -> Api.desktopsIn("metrics", "READY") >= 1);
        Api.requestDesktop(Tokens.user("metered", "/engineering"), "metrics").then().statusCode(200);
        management().get("/q/metrics").then().statusCode(200)
                .body(containsString("vdi_assignment_latency_seconds_bucket"))
                .body(containsString("vdi_pool_ready_spares{pool=\"metrics\"}"))
                .body(containsString("vdi_sessions{state=\"READY\"}"))
                .body(containsString("vdi_pool_manager_tick_seconds_count"));
        management().get("/q/openapi").then().statusCode(200).body(containsString("/api/v1/me/pools/{poolId}/desktop"))
                .body(containsString("/api/v1/admin/hypervisors"));
    }

    @Test
    void loginFactsNeedNoToken() {
        given().get("/api/v1/login").then().statusCode(200).body("clientId", equalTo("vdi-client"))
                .body("grants", hasItem("password"));
    }

    @Test
    void auditListsWhatHappenedNewestFirst() {
        Api.simulator("sim-audit", 10, 50, 50);
        java.util.List<java.util.Map<String, Object>> events = given().auth().oauth2(Api.ADMIN)
                .get("/api/v1/admin/audit?size=500").then().statusCode(200).extract().jsonPath().getList("$");
        org.assertj.core.api.Assertions.assertThat(events).anySatisfy(e -> {
            org.assertj.core.api.Assertions.assertThat(e.get("kind")).isEqualTo("hypervisor.created");
            org.assertj.core.api.Assertions.assertThat(e.get("detail")).isEqualTo("sim-audit");
            org.assertj.core.api.Assertions.assertThat(e.get("actor")).isEqualTo("root");
        });
        for (int i = 1; i < events.size(); i++) {
            org.assertj.core.api.Assertions.assertThat(java.time.Instant.parse((String) events.get(i - 1)
                    .get("occurredAt"))).isAfterOrEqualTo(java.time.Instant.parse((String) events.get(i)
                    .get("occurredAt")));
        }
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/audit?size=0").then().statusCode(400)
                .contentType("application/problem+json");
    }
}
