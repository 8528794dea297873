package org.vdibroker.pool;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * How many users a pool should expect in a stretch of time, learned from its own login history.
 *
 * <p>The model: arrivals repeat by weekday and time of day. For each local 15-minute slot of a day, the forecast is
 * the average number of sessions opened in that slot on the same weekday of the last {@value #WEEKS} weeks (a week
 * without data counts as none, so a new pool learns over its first weeks). Within a slot arrivals are taken as
 * spread evenly, so a stretch covering half a slot expects half of its average.
 *
 * <p>A day's averages are computed once and kept (the weeks they come from are over); when the history cannot be read
 * (database down), the day is taken as empty and read again a few minutes later.
 */
public class ArrivalForecast {

    public static final int WEEKS = 4;

    private static final Logger LOG = Logger.getLogger(ArrivalForecast.class);
    private static final Duration RETRY = Duration.ofMinutes(5);
    private static final int SLOT_MINUTES = (int) LoginCounts.SLOT.toMinutes();
    private static final int SLOTS_PER_DAY = 24 * 60 / SLOT_MINUTES;

    private final LoginCounts history;
    private final Map<DayKey, DayProfile> days = new ConcurrentHashMap<>();

    public ArrivalForecast(LoginCounts history) {
        this.history = history;
    }

    private record DayKey(String poolId, ZoneId zone, LocalDate date) {
    }

    /** Average arrivals per local slot of one day; {@code retryAt} is set when the history could not be read. */
    private record DayProfile(double[] perSlot, Instant retryAt) {
    }

    /** Expected arrivals in the pool from {@code from} (now) to {@code to}. */
    public double expected(String poolId, ZoneId zone, Instant from, Instant to) {
        double sum = 0;
        long slotSeconds = LoginCounts.SLOT.toSeconds();
        for (Instant slot = LoginCounts.slotStart(from); slot.isBefore(to); slot = slot.plus(LoginCounts.SLOT)) {
            Instant end = slot.plus(LoginCounts.SLOT);
            long covered = Duration.between(max(slot, from), min(end, to)).toSeconds();
            ZonedDateTime local = slot.atZone(zone);
            sum += day(poolId, zone, local.toLocalDate(), from).perSlot[index(local)] * covered / slotSeconds;
        }
        return sum;
    }

    private DayProfile day(String poolId, ZoneId zone, LocalDate date, Instant now) {
        DayKey key = new DayKey(poolId, zone, date);
        DayProfile known = days.get(key);
        if (known != null && (known.retryAt() == null || now.isBefore(known.retryAt()))) {
            return known;
        }
        DayProfile loaded = load(poolId, zone, date, now);
        days.keySet().removeIf(k -> k.date().isBefore(date.minusDays(2)));
        days.put(key, loaded);
        return loaded;
    }

    private DayProfile load(String poolId, ZoneId zone, LocalDate date, Instant now) {
        double[] perSlot = new double[SLOTS_PER_DAY];
        try {
            for (int week = 1; week <= WEEKS; week++) {
                LocalDate past = date.minusWeeks(week);
                Instant from = past.atStartOfDay(zone).toInstant();
                Instant to = past.plusDays(1).atStartOfDay(zone).toInstant();
                history.arrivals(poolId, from, to)
                        .forEach((slot, n) -> perSlot[index(slot.atZone(zone))] += (double) n / WEEKS);
            }
            return new DayProfile(perSlot, null);
        } catch (RuntimeException e) {
            LOG.infof("Pool %s: login history not readable, no pre-warming for %s until it is: %s", poolId, date,
                    e.getMessage());
            return new DayProfile(new double[SLOTS_PER_DAY], now.plus(RETRY));
        }
    }

    private static int index(ZonedDateTime local) {
        return (local.getHour() * 60 + local.getMinute()) / SLOT_MINUTES;
    }

    private static Instant max(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }
}
