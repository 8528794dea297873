package org.vdibroker.persistence;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;
import static org.vdibroker.testsupport.Management.management;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.vdibroker.audit.AuditEvent;
import org.vdibroker.audit.AuditService;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.PostgresProfile;
import org.vdibroker.testsupport.RestartablePostgres;
import org.vdibroker.testsupport.Tokens;

/**
 * With PostgreSQL stopped, brokering and provisioning go on; audit events and inventory changes wait in the outbox
 * and are all written, each once, when the database is back.
 */
@QuarkusTest
@TestProfile(PostgresProfile.class)
class DatabaseOutageTest {

    /** Injected by PostgresTestResource. */
    RestartablePostgres postgres;

    @Inject
    AuditService audit;

    @Inject
    Outbox outbox;

    @Test
    void writesWaitWhileTheDatabaseIsDownAndAreWrittenOnceWhenItReturns() {
        Api.simulator("sim-outage", 20, 100, 100);
        Api.createPool(Api.pool("outage", "dedicated", 2, 0, 5, "sim-outage", List.of("/outage")));
        await("2 ready desktops", Duration.ofSeconds(30), () -> Api.desktopsIn("outage", "READY") == 2);
        await("the outbox written", Duration.ofSeconds(10), () -> outbox.pending() == 0);
        assertThat(postgres.count("select count(*) from desktop where pool_id = 'outage' and vm_ref is not null"))
                .isEqualTo(2);
        long eventsBefore = postgres.count("select count(*) from audit_event");

        postgres.stop();
        Instant stoppedAt = Instant.now();
        Map<String, String> sessions = new HashMap<>();
        try {
            // four users of a dedicated pool with two ready desktops: two are served at once, for the other two the
            // pool provisions new desktops
            for (int i = 0; i < 4; i++) {
                String user = "outage-" + i;
                Response asked = Api.requestDesktop(Tokens.user(user, "/outage"), "outage");
                assertThat(asked.statusCode()).as(asked.asString()).isIn(200, 202);
                sessions.put(user, asked.jsonPath().getString("id"));
            }
            for (int i = 0; i < 30; i++) {
                audit.record("outage.test", "tester", null, null, null, "event " + i);
            }
            await("every user's desktop ready, two of them provisioned during the outage", Duration.ofSeconds(30),
                    () -> sessions.entrySet().stream().allMatch(s -> "READY".equals(state(s.getKey(), s.getValue()))));
            assertThat(Api.desktops("outage")).hasSize(4);

            await("the outbox counted and the database degraded", Duration.ofSeconds(10),
                    () -> outbox.pending() > 30 && "DEGRADED".equals(outbox.databaseState()));
            JsonPath ready = management().get("/q/health/ready").then().statusCode(200).extract().jsonPath();
            assertThat(ready.getString("checks.find { it.name == 'broker-node' }.data.database"))
                    .isEqualTo("DEGRADED");
            assertThat(ready.getInt("checks.find { it.name == 'broker-node' }.data.outbox-pending"))
                    .isGreaterThan(30);
            assertThat(management().get("/q/metrics").then().statusCode(200).extract().asString())
                    .containsPattern("(?m)^vdi_outbox_pending(\\{[^}]*\\})? [1-9]");
        } finally {
            System.out.printf("DatabaseOutageTest: PostgreSQL stopped for %d ms%n",
                    Duration.between(stoppedAt, Instant.now()).toMillis());
            postgres.restart();
        }

        // the outbox's count is as of its last round, so wait for what matters: the rows
        await("the outbox written", Duration.ofSeconds(30), () -> outbox.pending() == 0
                && postgres.count("select count(*) from audit_event where kind = 'desktop.assigned'"
                        + " and pool_id = 'outage'") == 4
                && postgres.count("select count(*) from audit_event where kind = 'outage.test'") == 30);
        assertThat(outbox.databaseState()).isEqualTo("UP");
        assertThat(postgres.count("select count(*) from audit_event where kind = 'outage.test'")).isEqualTo(30);
        assertThat(postgres.count("select count(distinct detail) from audit_event where kind = 'outage.test'"))
                .isEqualTo(30);
        assertThat(postgres.count("select count(*) from audit_event where kind = 'desktop.assigned'"
                + " and pool_id = 'outage'")).isEqualTo(4);
        assertThat(postgres.count("select count(*) from audit_event where kind = 'desktop.provisioning'"
                + " and pool_id = 'outage'")).isEqualTo(4);
        assertThat(postgres.count("select count(*) from audit_event")).isEqualTo(eventsBefore + 30 + 4 + 2);
        // every desktop, also those provisioned while the database was down, with its VM and its owner
        for (Map<String, Object> d : Api.desktops("outage")) {
            assertThat(postgres.count("select count(*) from desktop where id = '" + d.get("id") + "' and vm_ref = '"
                    + d.get("vmRef") + "' and owner = '" + d.get("owner") + "'")).as("row of %s", d).isEqualTo(1);
        }
        assertThat(postgres.count("select count(distinct owner) from desktop where pool_id = 'outage'"))
                .isEqualTo(4);
    }

    @Test
    void anEventWrittenByARoundThatFailedBeforeRemovingItIsNotWrittenAgain() throws Exception {
        List<AuditEvent> events = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            events.add(new AuditEvent(UUID.randomUUID().toString(), Instant.now(), "retry.test", "tester", null, null,
                    null, "event " + i));
        }
        // the first event reached the database, but its node died before taking it out of the outbox
        try (Connection c = postgres.connect(); PreparedStatement insert = c.prepareStatement(
                "insert into audit_event (id, occurred_at, kind, actor, detail) values (?, ?, ?, ?, ?)")) {
            insert.setString(1, events.get(0).id());
            insert.setTimestamp(2, Timestamp.from(events.get(0).occurredAt()));
            insert.setString(3, events.get(0).kind());
            insert.setString(4, events.get(0).actor());
            insert.setString(5, events.get(0).detail());
            insert.executeUpdate();
        }
        for (AuditEvent e : events) {
            outbox.add("audit:" + e.id(), e);
        }
        outbox.flush();

        for (AuditEvent e : events) {
            assertThat(outbox.waiting("audit:" + e.id(), AuditEvent.class)).as("%s still waits", e.id()).isEmpty();
            assertThat(postgres.count("select count(*) from audit_event where id = '" + e.id() + "'")).isEqualTo(1);
        }
    }

    @Test
    void anEventTheDatabaseRefusesWaitsWithoutHoldingUpTheOthers() throws Exception {
        try (Connection c = postgres.connect()) {
            c.createStatement().execute("""
                    create function refuse_poison() returns trigger language plpgsql as $$
                    begin
                        if new.kind = 'poison.test' then raise exception 'refused by the test'; end if;
                        return new;
                    end $$""");
            c.createStatement().execute("create trigger refuse_poison before insert on audit_event"
                    + " for each row execute function refuse_poison()");
        }
        try {
            audit.record("poison.test", "tester", null, null, null, "refused");
            for (int i = 0; i < 5; i++) {
                audit.record("beside-poison.test", "tester", null, null, null, "event " + i);
            }
            outbox.flush();
            assertThat(postgres.count("select count(*) from audit_event where kind = 'beside-poison.test'"))
                    .isEqualTo(5);
            assertThat(outbox.pending()).as("the refused event still waits").isEqualTo(1);
            assertThat(outbox.databaseState()).isEqualTo("UP");
        } finally {
            try (Connection c = postgres.connect()) {
                c.createStatement().execute("drop trigger refuse_poison on audit_event");
                c.createStatement().execute("drop function refuse_poison()");
            }
        }
        outbox.flush();
        assertThat(outbox.pending()).isZero();
        assertThat(postgres.count("select count(*) from audit_event where kind = 'poison.test'")).isEqualTo(1);
    }

    private static String state(String user, String sessionId) {
        return given().auth().oauth2(Tokens.user(user, "/outage")).get("/api/v1/me/sessions/" + sessionId).then()
                .statusCode(200).extract().jsonPath().getString("state");
    }
}
