package org.vdibroker.pool;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How many ready, unassigned desktops a pool should keep right now, on top of those held and waited for.
 *
 * <ol>
 * <li>The base: the spare count of the pool's schedule window in force (pool's time zone), else the pool's
 * {@code spare}.</li>
 * <li>With {@code prewarm} on, raised to the arrivals the pool's history predicts (ArrivalForecast) between now and
 * the end of the look-ahead: the observed provisioning time (a desktop asked for now is ready only then) plus one
 * slot, plus a margin of one standard deviation of that many random arrivals (the square root of the expectation,
 * for arrivals that come independently). As the rush's slots pass out of the look-ahead the target falls back to
 * the base by itself, and the pool manager retires the surplus.</li>
 * <li>Never above the pool's {@code maxSize}; the pool manager keeps the total within min and max.</li>
 * </ol>
 * Free of CDI apart from the constructor the container uses, so the replay test drives the same code.
 */
@Singleton
public class SpareTarget {

    private final ArrivalForecast forecast;
    private final ProvisioningStats provisioning;
    private final MeterRegistry meters;
    /** The last target per pool, shown as the gauge {@code vdi.pool.spare.target}. */
    private final Map<String, Integer> last = new ConcurrentHashMap<>();

    @Inject
    SpareTarget(LoginHistory history, ProvisioningStats provisioning, MeterRegistry meters) {
        this.forecast = new ArrivalForecast(history);
        this.provisioning = provisioning;
        this.meters = meters;
    }

    public SpareTarget(ArrivalForecast forecast, ProvisioningStats provisioning) {
        this.forecast = forecast;
        this.provisioning = provisioning;
        this.meters = null;
    }

    /**
     * The pool manager's target, also shown as the gauge: only the pool manager records it, so the gauge is the
     * target the pool manager works to (the charts' sampler and evacuations ask {@link #at} with their own clocks).
     */
    public int spare(Pool pool, Instant now) {
        int spare = at(pool, now);
        if (last.put(pool.id(), spare) == null && meters != null) {
            Gauge.builder("vdi.pool.spare.target", () -> last.getOrDefault(pool.id(), 0)).tag("pool", pool.id())
                    .description("ready, unassigned desktops the pool manager aims for (schedule, forecast)")
                    .register(meters);
        }
        return spare;
    }

    /** The spare target at {@code now}: the schedule's or the pool's, raised by the forecast when pre-warming. */
    public int at(Pool pool, Instant now) {
        int spare = pool.schedule().spareAt(now.atZone(pool.zone())).orElse(pool.spare());
        if (pool.prewarm()) {
            Duration lead = Duration.ofMillis(Math.round(provisioning.averageSeconds(pool.id()) * 1000));
            double expected = forecast.expected(pool.id(), pool.zone(), now, now.plus(lead).plus(LoginCounts.SLOT));
            spare = Math.max(spare, (int) Math.ceil(expected + Math.sqrt(expected)));
        }
        return Math.min(spare, pool.maxSize());
    }
}
