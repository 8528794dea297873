package org.vdibroker.pool;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;

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

    @Inject
    SpareTarget(LoginHistory history, ProvisioningStats provisioning) {
        this(new ArrivalForecast(history), provisioning);
    }

    public SpareTarget(ArrivalForecast forecast, ProvisioningStats provisioning) {
        this.forecast = forecast;
        this.provisioning = provisioning;
    }

    public int spare(Pool pool, Instant now) {
        int spare = pool.schedule().spareAt(now.atZone(pool.zone())).orElse(pool.spare());
        if (pool.prewarm()) {
            Duration lead = Duration.ofMillis(Math.round(provisioning.averageSeconds(pool.id()) * 1000));
            double expected = forecast.expected(pool.id(), pool.zone(), now, now.plus(lead).plus(LoginCounts.SLOT));
            spare = Math.max(spare, (int) Math.ceil(expected + Math.sqrt(expected)));
        }
        return Math.min(spare, pool.maxSize());
    }
}
