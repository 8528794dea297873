package org.vdibroker.desktop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ProvisioningTimeTest {

    private static final Instant T0 = Instant.parse("2026-12-06T04:00:00Z");

    private final ProvisioningTime time = new ProvisioningTime();
    private int ids;

    @Test
    void emptyUntilADesktopCompleted() {
        assertThat(time.seconds()).isEmpty();
        time.started("d", T0);
        assertThat(time.seconds()).isEmpty();
        time.ended("d", T0, null, T0.plusSeconds(5)); // failed: no provisioning time
        assertThat(time.seconds()).isEmpty();
        assertThat(time.size()).isZero();
    }

    /**
     * 200 spares started together complete fastest first: the figure is their mean, not that of the slow tail that
     * came in last (the mean of the latest fifty completions gave 72 s for these desktops of 60 s).
     */
    @Test
    void aRoundStartedTogetherAndCompletingInOrderOfDurationGivesItsMean() {
        List<Double> durations = triangular(new Random(7), 200, 30, 90);
        double mean = durations.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        round(T0, durations);
        assertThat(time.seconds().getAsDouble()).as("the round's mean is %.1f s", mean).isCloseTo(mean, offset(3.0));
        assertThat(time.size()).as("nothing kept once all ended").isZero();
    }

    /**
     * A storm's first round is under way: its fast desktops complete first, but nothing that started before them has
     * ended yet, so the figure stays that of the settled spares until the round's oldest desktops are done.
     */
    @Test
    void theFastStartOfARoundUnderWayDoesNotMoveIt() {
        round(T0, triangular(new Random(1), 100, 30, 90));
        double before = time.seconds().getAsDouble();
        Instant storm = T0.plusSeconds(600);
        List<Double> next = triangular(new Random(2), 200, 30, 90);
        List<String> started = new ArrayList<>();
        for (int i = 0; i < next.size(); i++) {
            started.add(start(storm.plusMillis(i * 10L)));
        }
        // the fastest half ends
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < next.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparing(next::get));
        for (int k = 0; k < 100; k++) {
            int i = order.get(k);
            Instant at = storm.plusMillis(i * 10L);
            time.ended(started.get(i), at, seconds(next.get(i)), at.plus(seconds(next.get(i))));
        }
        // only the few that started before every desktop still under way are settled and count
        assertThat(time.seconds().getAsDouble()).isCloseTo(before, offset(1.5));
        // and the rest: now all of it counts, in the order the desktops started
        for (int k = 100; k < 200; k++) {
            int i = order.get(k);
            Instant at = storm.plusMillis(i * 10L);
            time.ended(started.get(i), at, seconds(next.get(i)), at.plus(seconds(next.get(i))));
        }
        assertThat(time.seconds().getAsDouble()).isBetween(55.0, 65.0);
    }

    @Test
    void aLastingChangeOfSpeedShowsWithinTheDesktopsItFollows() {
        Instant at = T0;
        for (int i = 0; i < 200; i++) {
            at = one(at, 30);
        }
        for (int i = 0; i < 2 * ProvisioningTime.COMPLETIONS; i++) { // the hypervisors became twice as slow
            at = one(at, 60);
        }
        assertThat(time.seconds().getAsDouble()).isBetween(55.0, 60.0);
    }

    /** A desktop that never ends (its hypervisor lost its task) holds the others back only until it is stuck. */
    @Test
    void aStuckDesktopDoesNotFreezeTheFigure() {
        Instant at = T0;
        for (int i = 0; i < 60; i++) {
            at = one(at, 30);
        }
        String stuck = start(at);
        Instant later = at.plusSeconds(1);
        for (int i = 0; i < 100; i++) { // each 45 s; the stuck one passes 3 x 30 s after the second
            later = one(later, 45);
        }
        assertThat(time.seconds().getAsDouble()).as("the 45 s desktops count").isGreaterThan(42.0);
        assertThat(time.size()).as("only the stuck one is kept").isEqualTo(1);
        time.ended(stuck, at, null, later);
        assertThat(time.size()).isZero();
    }

    /** Until anything settled, the figure is what completed so far (the best there is before a round ends). */
    @Test
    void beforeAnythingSettledItIsTheMeanOfTheCompletions() {
        String slow = start(T0);
        String fast = start(T0.plusSeconds(1));
        time.ended(fast, T0.plusSeconds(1), Duration.ofSeconds(20), T0.plusSeconds(21));
        assertThat(time.seconds().getAsDouble()).isEqualTo(20.0);
        time.ended(slow, T0, Duration.ofSeconds(40), T0.plusSeconds(40));
        assertThat(time.seconds().getAsDouble()).as("both settled, in start order").isCloseTo(30.0, offset(1e-9));
    }

    // ---------------------------------------------------------------------------------------------------------------

    /** Desktops of these durations, started at {@code at} (10 ms apart), ending in order of completion. */
    private void round(Instant at, List<Double> durations) {
        record Desktop(String id, Instant started, double seconds) {
            Instant ends() {
                return started.plus(ProvisioningTimeTest.seconds(seconds));
            }
        }
        List<Desktop> desktops = new ArrayList<>();
        for (int i = 0; i < durations.size(); i++) {
            Instant s = at.plusMillis(i * 10L);
            desktops.add(new Desktop(start(s), s, durations.get(i)));
        }
        desktops.sort(Comparator.comparing(Desktop::ends));
        for (Desktop d : desktops) {
            time.ended(d.id(), d.started(), seconds(d.seconds()), d.ends());
        }
    }

    /** One desktop of {@code seconds}, started at {@code at} when the one before ended; returns when it ended. */
    private Instant one(Instant at, double seconds) {
        String id = start(at);
        Instant end = at.plus(seconds(seconds));
        time.ended(id, at, seconds(seconds), end);
        return end;
    }

    private String start(Instant at) {
        String id = "d" + ids++;
        time.started(id, at);
        return id;
    }

    private static Duration seconds(double s) {
        return Duration.ofMillis(Math.round(s * 1000));
    }

    /** A clone and a boot, each uniform in [min/2, max/2]: the simulator's desktops. */
    private static List<Double> triangular(Random random, int n, double min, double max) {
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            values.add(min / 2 + random.nextDouble() * (max - min) / 2 + min / 2 + random.nextDouble() * (max - min)
                    / 2);
        }
        return values;
    }
}
