package org.vdibroker.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The spare target: schedule window in force, raised ahead of a predicted rush and lowered after it, within max. */
class SpareTargetTest {

    static final ZoneId ZONE = ZoneId.of("America/New_York");
    static final LocalDate MONDAY = LocalDate.of(2026, 3, 2);

    @Test
    void theScheduleWindowInForceInThePoolsTimeZoneSetsTheSpare() {
        SpareSchedule schedule = schedule(new PoolRepresentation.Schedule(List.of("MON", "TUE", "WED", "THU", "FRI"),
                "07:30", "10:00", 20), new PoolRepresentation.Schedule(List.of("SAT", "SUN"), "00:00", "24:00", 0));
        SpareTarget target = target(new PrewarmReplayTest.MemoryCounts());
        Pool pool = pool(2, 100, schedule, false);
        assertThat(target.spare(pool, at(MONDAY, "07:29"))).isEqualTo(2);
        assertThat(target.spare(pool, at(MONDAY, "07:30"))).isEqualTo(20);
        assertThat(target.spare(pool, at(MONDAY, "09:59"))).isEqualTo(20);
        assertThat(target.spare(pool, at(MONDAY, "10:00"))).isEqualTo(2);
        assertThat(target.spare(pool, at(MONDAY.minusDays(1), "23:59"))).as("Sunday").isZero();
        assertThat(target.spare(pool(2, 12, schedule, false), at(MONDAY, "08:00"))).as("capped at maxSize")
                .isEqualTo(12);
    }

    @Test
    void prewarmingRaisesTheSpareAheadOfAPredictedRushAndLowersItAfter() {
        // the last four Mondays: 30 users each between 13:00 and 13:15
        PrewarmReplayTest.MemoryCounts history = new PrewarmReplayTest.MemoryCounts();
        for (int week = 1; week <= 4; week++) {
            for (int user = 0; user < 30; user++) {
                history.opened("p", at(MONDAY.minusWeeks(week), "13:05"));
            }
        }
        SpareTarget target = target(history); // provisioning takes 5 minutes
        Pool pool = pool(2, 100, SpareSchedule.NONE, true);
        assertThat(target.spare(pool, at(MONDAY, "12:30"))).as("rush beyond the look-ahead").isEqualTo(2);
        // look-ahead 12:45 to 13:05 covers a third of the rush slot: 10 expected, plus a margin of sqrt(10)
        assertThat(target.spare(pool, at(MONDAY, "12:45"))).isEqualTo(14);
        // 12:55 to 13:15: all 30, plus sqrt(30)
        assertThat(target.spare(pool, at(MONDAY, "12:55"))).isEqualTo(36);
        assertThat(target.spare(pool, at(MONDAY, "13:15"))).as("after the rush").isEqualTo(2);
        assertThat(target.spare(pool, at(MONDAY.plusDays(1), "12:55"))).as("not a Monday").isEqualTo(2);
        assertThat(target.spare(pool(2, 100, SpareSchedule.NONE, false), at(MONDAY, "12:55")))
                .as("prewarm off").isEqualTo(2);
        assertThat(target.spare(pool(2, 20, SpareSchedule.NONE, true), at(MONDAY, "12:55"))).as("within max")
                .isEqualTo(20);
    }

    @Test
    void badWindowsAreReportedUnderTheFieldThatIsWrong() {
        Map<String, Object> errors = new LinkedHashMap<>();
        SpareSchedule.parse(List.of(
                new PoolRepresentation.Schedule(List.of("MON", "FUNDAY"), "07:30", "10:00", 5),
                new PoolRepresentation.Schedule(List.of("TUE"), "7:30", "25:00", 5),
                new PoolRepresentation.Schedule(List.of("TUE"), "10:00", "09:00", 5),
                new PoolRepresentation.Schedule(List.of(), "10:00", "11:00", -1),
                new PoolRepresentation.Schedule(List.of("WED", "THU"), "08:00", "12:00", 5),
                new PoolRepresentation.Schedule(List.of("THU"), "11:59", "24:00", 5)), errors);
        assertThat(errors).containsOnlyKeys("schedules[0].days", "schedules[1].from", "schedules[1].to",
                "schedules[2].to", "schedules[3].days", "schedules[3].spare", "schedules[5]");
        assertThat(errors.get("schedules[5]")).asString().contains("schedules[4]").contains("THU");
    }

    @Test
    void adjacentWindowsAndWholeDaysAreFine() {
        Map<String, Object> errors = new LinkedHashMap<>();
        SpareSchedule schedule = SpareSchedule.parse(List.of(
                new PoolRepresentation.Schedule(List.of("MON"), "00:00", "08:00", 1),
                new PoolRepresentation.Schedule(List.of("MON"), "08:00", "24:00", 9)), errors);
        assertThat(errors).isEmpty();
        assertThat(schedule.windows()).extracting(SpareSchedule.Window::days).containsOnly(Set.of(DayOfWeek.MONDAY));
        assertThat(schedule.spareAt(at(MONDAY, "23:59").atZone(ZONE))).hasValue(9);
        assertThat(schedule.spareAt(at(MONDAY, "00:00").atZone(ZONE))).hasValue(1);
    }

    static SpareSchedule schedule(PoolRepresentation.Schedule... windows) {
        Map<String, Object> errors = new LinkedHashMap<>();
        SpareSchedule schedule = SpareSchedule.parse(List.of(windows), errors);
        assertThat(errors).isEmpty();
        return schedule;
    }

    static SpareTarget target(LoginCounts history) {
        return new SpareTarget(new ArrivalForecast(history), PrewarmReplayTest.provisioning("p"));
    }

    static Pool pool(int spare, int max, SpareSchedule schedule, boolean prewarm) {
        return new Pool("p", "p", PoolEntity.Assignment.FLOATING, 0, spare, max, List.of("rdp"), 1, 512, 0, 0, true,
                ZONE.getId(), true, List.of(), Set.of(), Set.of(), schedule, prewarm, PoolEntity.UnknownVms.IGNORE,
                org.vdibroker.protocol.ConnectionSettings.NONE);
    }

    static Instant at(LocalDate day, String time) {
        return day.atTime(LocalTime.parse(time)).atZone(ZONE).toInstant();
    }
}
