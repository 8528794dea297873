package org.vdibroker.persistence;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;
import static org.vdibroker.testsupport.Management.management;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.vdibroker.audit.AuditService;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * An outbox entry the database refuses (here an audit event whose kind is longer than its column) does not hold up
 * the others; an admin sees it with its error and attempts, it is parked after broker.outbox.park-after refusals
 * (3 in tests) and no longer retried, and an admin can discard it (audited).
 */
@QuarkusTest
class OutboxPoisonTest {

    @Inject
    AuditService audit;

    @Inject
    Outbox outbox;

    @Test
    void aRefusedEntryIsListedParkedAndDiscardedWhileTheOthersAreWritten() throws Exception {
        String marker = UUID.randomUUID().toString().substring(0, 8);
        String poisonKind = "poison-" + marker + "-" + "x".repeat(100); // the column takes 64 characters
        audit.record(poisonKind, "tester", null, null, null, "refused by the database");
        for (int i = 0; i < 5; i++) {
            audit.record("poison.neighbour", "tester", null, null, null, marker + " before " + i);
        }

        await("the poison entry parked after 3 refusals", Duration.ofSeconds(20),
                () -> poison().map(p -> Boolean.TRUE.equals(p.get("parked"))).orElse(false));
        Map<String, Object> parked = poison().orElseThrow();
        assertThat(parked.get("kind")).isEqualTo("AuditEvent");
        assertThat(parked.get("attempts")).isEqualTo(3);
        assertThat((String) parked.get("lastError")).as("the database's own error")
                .containsIgnoringCase("value too long");
        assertThat(parked.get("lastAttemptAt")).isNotNull();
        assertThat(audited(marker + " before")).as("the others written meanwhile").isEqualTo(5);

        // parked: not retried every round, counted in the gauge and the readiness details, not as pending
        for (int i = 0; i < 5; i++) {
            audit.record("poison.neighbour", "tester", null, null, null, marker + " after " + i);
        }
        Thread.sleep(2500);
        assertThat(poison().orElseThrow().get("attempts")).isEqualTo(3);
        assertThat(audited(marker + " after")).isEqualTo(5);
        assertThat(outbox.parked()).isEqualTo(1);
        assertThat(outbox.pending()).isZero();
        assertThat(management().get("/q/metrics").then().statusCode(200).extract().asString())
                .contains("vdi_outbox_parked 1.0")
                .containsPattern("(?m)^vdi_outbox_journal_lag_seconds 0\\.0$"); // idle: the journal is up to date
        assertThat(management().get("/q/health/ready").then().extract().jsonPath()
                .getInt("checks.find { it.name == 'broker-node' }.data.outbox-parked")).isEqualTo(1);

        String id = (String) parked.get("id");
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/outbox/{id}/discard", id).then().statusCode(204);
        assertThat(poison()).isEmpty();
        await("the parked count back to 0", Duration.ofSeconds(5), () -> outbox.parked() == 0);
        JsonPath discarded = given().auth().oauth2(Api.ADMIN).queryParam("size", 500).get("/api/v1/admin/audit")
                .then().statusCode(200).extract().jsonPath();
        assertThat(discarded.getList("findAll { it.kind == 'outbox.discarded' && it.detail == '" + id
                + "' }.actor")).containsExactly("root");
        // gone: a second discard finds nothing
        given().auth().oauth2(Api.ADMIN).post("/api/v1/admin/outbox/{id}/discard", id).then().statusCode(404)
                .contentType("application/problem+json");
    }

    @Test
    void onlyAdminsSeeOrDiscardOutboxEntries() {
        given().get("/api/v1/admin/outbox").then().statusCode(401);
        given().post("/api/v1/admin/outbox/audit:x/discard").then().statusCode(401);
        String user = Tokens.user("not-an-admin", "/users");
        given().auth().oauth2(user).get("/api/v1/admin/outbox").then().statusCode(403);
        given().auth().oauth2(user).post("/api/v1/admin/outbox/audit:x/discard").then().statusCode(403);
        given().auth().oauth2(Api.ADMIN).queryParam("limit", 0).get("/api/v1/admin/outbox").then().statusCode(400)
                .contentType("application/problem+json")
                .body("type", org.hamcrest.Matchers.endsWith("invalid-request"));
    }

    private java.util.Optional<Map<String, Object>> poison() {
        List<Map<String, Object>> entries = given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/outbox").then()
                .statusCode(200).extract().jsonPath().getList("$");
        return entries.stream().filter(e -> e.get("lastError") != null).findFirst();
    }

    private long audited(String detailPrefix) {
        return given().auth().oauth2(Api.ADMIN).queryParam("size", 500).get("/api/v1/admin/audit").then()
                .statusCode(200).extract().jsonPath().getList("findAll { it.detail != null && it.detail.startsWith('"
                        + detailPrefix + "') }").size();
    }
}
