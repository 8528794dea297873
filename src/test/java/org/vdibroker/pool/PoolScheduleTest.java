package org.vdibroker.pool;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.oneOf;
import static org.vdibroker.testsupport.Api.await;
import static org.vdibroker.testsupport.Management.management;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.TemporalAdjusters;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/** Schedules and pre-warming through the admin API, the pool manager keeping a window's spares, logins counted. */
@QuarkusTest
class PoolScheduleTest {

    static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    static final String PROBLEM = "application/problem+json";

    @Inject
    PoolManager manager;
    @Inject
    LoginHistory history;

    @Test
    void aScheduleWindowInForceKeepsItsSpareCountAndThePoolFallsBackAfterIt() {
        Api.simulator("sim-schedule", 50, 50, 50);
        Clock real = manager.clock;
        try {
            // the pool manager lives on the last Monday, 08:00 in Berlin: inside the window 07:30-10:00
            manager.clock = at(LocalTime.of(8, 0));
            Map<String, Object> pool = new HashMap<>(Api.pool("scheduled", "floating", 0, 1, 10, "sim-schedule",
                    List.of("/engineering")));
            pool.put("timeZone", "Europe/Berlin");
            pool.put("prewarm", true);
            pool.put("schedules", List.of(Map.of("days", List.of("MON", "TUE"), "from", "07:30", "to", "10:00",
                    "spare", 4)));
            Api.createPool(pool);
            given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/scheduled").then().statusCode(200)
                    .body("prewarm", equalTo(true)).body("schedules[0].days", equalTo(List.of("MON", "TUE")))
                    .body("schedules[0].from", equalTo("07:30")).body("schedules[0].to", equalTo("10:00"))
                    .body("schedules[0].spare", equalTo(4));
            await("4 spares in the window", Duration.ofSeconds(30), () -> Api.desktopsIn("scheduled", "READY") == 4);
            for (int i = 0; i < 5; i++) {
                assertThat(Api.desktops("scheduled")).as("never more than the window's spares").hasSize(4);
                PoolSizingTest.sleep(200);
            }
            management().get("/q/metrics").then().statusCode(200)
                    .body(containsString("vdi_pool_spare_target{pool=\"scheduled\"} 4.0"));
            // 10:30: the window is over, the pool's own spare applies and the surplus retires
            manager.clock = at(LocalTime.of(10, 30));
            await("back to 1 spare", Duration.ofSeconds(30), () -> Api.desktops("scheduled").size() == 1
                    && Api.desktopsIn("scheduled", "READY") == 1);
        } finally {
            manager.clock = real;
        }
    }

    @Test
    void badSchedulesAreRejectedNamingTheField() {
        Api.simulator("sim-bad-schedule", 5, 50, 50);
        Map<String, Object> pool = new HashMap<>(Api.pool("bad-schedule", "floating", 0, 1, 5, "sim-bad-schedule",
                List.of("/engineering")));
        pool.put("schedules", List.of(Map.of("days", List.of("MON", "MONDAY"), "from", "07:30", "to", "10:00",
                "spare", 4)));
        post(pool).body("errors", hasKey("schedules[0].days"))
                .body("errors['schedules[0].days']", containsString("MONDAY"));
        pool.put("schedules", List.of(Map.of("days", List.of("MON"), "from", "10:00", "to", "9:00", "spare", 4)));
        post(pool).body("errors", hasKey("schedules[0].to"));
        pool.put("schedules", List.of(Map.of("days", List.of("MON", "TUE"), "from", "07:00", "to", "10:00", "spare", 4),
                Map.of("days", List.of("TUE"), "from", "09:00", "to", "12:00", "spare", 2)));
        post(pool).body("errors['schedules[1]']", containsString("overlaps schedules[0] on TUE"));
        pool.put("schedules", List.of());
        pool.put("timeZone", "Mars/Olympus_Mons");
        post(pool).body("errors", hasKey("timeZone"));
        given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/bad-schedule").then().statusCode(404);
    }

    @Test
    void aNewSessionCountsOnceInTheLoginHistory() {
        Api.simulator("sim-history", 5, 50, 50);
        Api.createPool(Api.pool("history", "floating", 0, 1, 5, "sim-history", List.of("/engineering")));
        Instant slot = LoginCounts.slotStart(Instant.now());
        String carol = Tokens.user("carol", "/engineering");
        String dave = Tokens.user("dave", "/engineering");
        Api.requestDesktop(carol, "history").then().statusCode(oneOf(200, 202));
        Api.requestDesktop(carol, "history").then().statusCode(oneOf(200, 202)); // same session
        Api.requestDesktop(dave, "history").then().statusCode(oneOf(200, 202));
        history.persist(Instant.now().plus(LoginCounts.SLOT)); // once the slot is over, its count is saved
        Map<Instant, Integer> saved = history.arrivals("history", slot.minus(LoginCounts.SLOT),
                slot.plus(LoginCounts.SLOT));
        assertThat(saved.values().stream().mapToInt(Integer::intValue).sum()).as("carol and dave").isEqualTo(2);
    }

    static io.restassured.response.ValidatableResponse post(Map<String, Object> pool) {
        return given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON).body(pool).post("/api/v1/admin/pools")
                .then().statusCode(400).contentType(PROBLEM).body("type", containsString("invalid-pool"));
    }

    /** A clock running from the last Monday at {@code time} in Berlin (in the past, so nothing times out early). */
    static Clock at(LocalTime time) {
        ZonedDateTime now = ZonedDateTime.now(BERLIN);
        ZonedDateTime monday = now.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY)).with(time);
        if (monday.isAfter(now)) {
            monday = monday.minusWeeks(1);
        }
        return Clock.offset(Clock.systemUTC(), Duration.between(now.toInstant(), monday.toInstant()));
    }
}
