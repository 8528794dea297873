package org.vdibroker.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Replays six weeks of synthetic logins (a morning rush around 08:30, a lunch rush around 13:00, a trickle in
 * between, little at weekends) against a model of a floating pool driven by the production SpareTarget and
 * ArrivalForecast: four weeks to learn, two to measure. Predictive pre-warming must make fewer users wait than the
 * best fixed spare count that keeps at least as many desktops idle on average.
 */
class PrewarmReplayTest {

    static final ZoneId ZONE = ZoneId.of("Europe/Berlin");
    static final LocalDate FIRST_DAY = LocalDate.of(2026, 1, 5); // a Monday
    static final int WEEKS = 6;
    static final int LEARN_WEEKS = 4;
    static final int MINUTES = WEEKS * 7 * 24 * 60;
    static final int PROVISION_MINUTES = 5; // clone and boot; a refresh after logoff takes as long
    static final int SESSION_MINUTES = 3 * 60;
    static final int MAX_SIZE = 200;
    static final int BASE_SPARE = 2;
    static final int MAX_FIXED_SPARE = 40;

    static List<Integer>[] arrivals;

    /**
     * While measuring: users who had to wait for a desktop, average idle (ready, unassigned) desktops, and average
     * desktops not in use at all (idle, being provisioned or refreshed).
     */
    record Outcome(long queued, double averageIdle, double averageNotInUse, long users) {
    }

    @BeforeAll
    static void generateLogins() {
        arrivals = logins(new Random(20260105L));
    }

    @Test
    void predictivePrewarmingQueuesFewerUsersThanTheBestFixedSpareAtNoMoreIdleDesktops() {
        Outcome predictive = replay(pool("predictive", BASE_SPARE, true));
        List<Outcome> fixed = new ArrayList<>();
        for (int spare = 0; spare <= MAX_FIXED_SPARE; spare++) {
            fixed.add(replay(pool("fixed", spare, false)));
        }
        // Queueing falls as the fixed spare count grows, and idling rises: the fixed count to beat is the smallest one
        // that idles at least as much as pre-warming (any smaller one idles less and queues more).
        int comparable = -1;
        int matching = -1;
        for (int spare = fixed.size() - 1; spare >= 0; spare--) {
            if (fixed.get(spare).averageIdle() >= predictive.averageIdle()) {
                comparable = spare;
            }
            if (fixed.get(spare).queued() <= predictive.queued()) {
                matching = spare;
            }
        }
        System.out.printf("Replay of %d weeks (%d learning, %d measured: %d logins), provisioning %d min,"
                + " sessions %d min%n", WEEKS, LEARN_WEEKS, WEEKS - LEARN_WEEKS, predictive.users(),
                PROVISION_MINUTES, SESSION_MINUTES);
        for (int spare = 0; spare < fixed.size(); spare++) {
            System.out.printf("  fixed spare %2d: queued users %4d, average idle desktops %6.2f (not in use %6.2f)%n",
                    spare, fixed.get(spare).queued(), fixed.get(spare).averageIdle(),
                    fixed.get(spare).averageNotInUse());
        }
        System.out.printf("PREWARM predictive (base spare %d): queued users %d, average idle desktops %.2f (not in"
                + " use %.2f)%n", BASE_SPARE, predictive.queued(), predictive.averageIdle(),
                predictive.averageNotInUse());
        assertThat(comparable).as("a fixed spare count idles at least as much as pre-warming").isNotNegative();
        System.out.printf("PREWARM fixed spare %d (smallest idling at least as much): queued users %d, average idle"
                + " desktops %.2f%n", comparable, fixed.get(comparable).queued(), fixed.get(comparable).averageIdle());
        if (matching >= 0) {
            System.out.printf("PREWARM fixed spare %d (smallest queuing no more): queued users %d, average idle"
                    + " desktops %.2f%n", matching, fixed.get(matching).queued(), fixed.get(matching).averageIdle());
        }
        assertThat(predictive.queued()).as("users queued with pre-warming vs fixed spare " + comparable)
                .isLessThan(fixed.get(comparable).queued());
        assertThat(matching).as("every fixed spare count that queues no more users idles more desktops")
                .satisfiesAnyOf(m -> assertThat(m).isNegative(),
                        m -> assertThat(fixed.get(m).averageIdle()).isGreaterThan(predictive.averageIdle()));
    }

    @Test
    void withoutHistoryPrewarmingKeepsTheBaseSpare() {
        SpareTarget target = new SpareTarget(new ArrivalForecast(new MemoryCounts()), provisioning("p"));
        Instant lunch = FIRST_DAY.atTime(12, 55).atZone(ZONE).toInstant();
        assertThat(target.spare(pool("p", BASE_SPARE, true), lunch)).isEqualTo(BASE_SPARE);
    }

    /** Discrete-time model of a floating pool, one step a minute, the pool manager's rule applied each step. */
    static Outcome replay(Pool pool) {
        MemoryCounts history = new MemoryCounts();
        SpareTarget target = new SpareTarget(new ArrivalForecast(history), provisioning(pool.id()));
        Instant start = FIRST_DAY.atStartOfDay(ZONE).toInstant();
        int measureFrom = LEARN_WEEKS * 7 * 24 * 60;
        int[] becomingReady = new int[MINUTES + PROVISION_MINUTES + 1];
        int[] ending = new int[MINUTES + SESSION_MINUTES + 1];
        int ready = 0;
        int coming = 0;
        int inUse = 0;
        int waiting = 0;
        long queued = 0;
        long users = 0;
        double idle = 0;
        double notInUse = 0;
        for (int minute = 0; minute < MINUTES; minute++) {
            Instant now = start.plusSeconds(60L * minute);
            boolean measuring = minute >= measureFrom;
            ready += becomingReady[minute];
            coming -= becomingReady[minute];
            // logoff: a floating desktop is refreshed before the next user gets it
            inUse -= ending[minute];
            coming += ending[minute];
            becomingReady[minute + PROVISION_MINUTES] += ending[minute];
            for (int i = 0; i < arrivals[minute].size(); i++) {
                history.opened(pool.id(), now);
                users += measuring ? 1 : 0;
                if (waiting == 0 && ready > 0) {
                    ready--;
                    inUse++;
                    ending[minute + SESSION_MINUTES]++;
                } else {
                    waiting++;
                    queued += measuring ? 1 : 0;
                }
            }
            while (waiting > 0 && ready > 0) {
                waiting--;
                ready--;
                inUse++;
                ending[minute + SESSION_MINUTES]++;
            }
            // PoolManager.grow: held + waiting + spare target, within min and max; surplus ready desktops retire
            long wanted = Math.min(Math.max(pool.minSize(), inUse + waiting + target.spare(pool, now)),
                    pool.maxSize());
            long counted = ready + coming + inUse;
            if (counted > wanted) {
                ready -= (int) Math.min(counted - wanted, ready);
            } else {
                coming += (int) (wanted - counted);
                becomingReady[minute + PROVISION_MINUTES] += (int) (wanted - counted);
            }
            if (measuring) {
                idle += ready;
                notInUse += ready + coming;
            }
        }
        return new Outcome(queued, idle / (MINUTES - measureFrom), notInUse / (MINUTES - measureFrom), users);
    }

    /** Logins per minute: weekday rushes at 08:30 and 13:00 with day-to-day noise, a trickle, quiet weekends. */
    @SuppressWarnings("unchecked")
    static List<Integer>[] logins(Random random) {
        List<Integer>[] perMinute = new List[MINUTES];
        for (int i = 0; i < MINUTES; i++) {
            perMinute[i] = new ArrayList<>();
        }
        for (int day = 0; day < WEEKS * 7; day++) {
            LocalDate date = FIRST_DAY.plusDays(day);
            int dayStart = day * 24 * 60;
            boolean weekday = date.getDayOfWeek().getValue() <= DayOfWeek.FRIDAY.getValue();
            if (weekday) {
                rush(perMinute, random, dayStart, 8 * 60 + 30, 20, 40);
                rush(perMinute, random, dayStart, 13 * 60, 10, 30);
                trickle(perMinute, random, dayStart, 7 * 60, 18 * 60, 3.0 / 60);
            } else {
                trickle(perMinute, random, dayStart, 9 * 60, 17 * 60, 0.5 / 60);
            }
            trickle(perMinute, random, dayStart, 0, 24 * 60, 0.1 / 60);
        }
        return perMinute;
    }

    /** About {@code mean} users (varying from day to day) around {@code at}, spread with {@code sigma} minutes. */
    static void rush(List<Integer>[] perMinute, Random random, int dayStart, int at, int sigma, int mean) {
        int users = (int) Math.round(mean * (0.8 + 0.4 * random.nextDouble()));
        for (int u = 0; u < users; u++) {
            int minute = at + (int) Math.round(random.nextGaussian() * sigma);
            perMinute[dayStart + Math.max(0, Math.min(24 * 60 - 1, minute))].add(1);
        }
    }

    /** Independent arrivals at {@code perMinute} users a minute between two times of day. */
    static void trickle(List<Integer>[] perMinute, Random random, int dayStart, int from, int to, double rate) {
        for (int minute = from; minute < to; minute++) {
            if (random.nextDouble() < rate) {
                perMinute[dayStart + minute].add(1);
            }
        }
    }

    static Pool pool(String id, int spare, boolean prewarm) {
        return new Pool(id, id, PoolEntity.Assignment.FLOATING, 0, spare, MAX_SIZE, List.of("rdp"), 1, 512, 0, 0, true,
                ZONE.getId(), true, List.of(), Set.of(), Set.of(), SpareSchedule.NONE, prewarm,
                PoolEntity.UnknownVms.IGNORE,
                org.vdibroker.protocol.ConnectionSettings.NONE);
    }

    static ProvisioningStats provisioning(String poolId) {
        ProvisioningStats stats = new ProvisioningStats();
        stats.observed(poolId, Duration.ofMinutes(PROVISION_MINUTES));
        return stats;
    }

    /** The login history in memory: what LoginHistory keeps in the cluster and the database. */
    static class MemoryCounts implements LoginCounts {
        final Map<String, TreeMap<Instant, Integer>> slots = new HashMap<>();

        void opened(String poolId, Instant at) {
            slots.computeIfAbsent(poolId, p -> new TreeMap<>()).merge(LoginCounts.slotStart(at), 1, Integer::sum);
        }

        @Override
        public Map<Instant, Integer> arrivals(String poolId, Instant from, Instant to) {
            return slots.getOrDefault(poolId, new TreeMap<>()).subMap(from, to);
        }
    }
}
