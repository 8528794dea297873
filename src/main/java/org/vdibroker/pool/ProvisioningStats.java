package org.vdibroker.pool;

import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Observed time from "a desktop is needed" to "it is ready", per pool, as an exponentially weighted moving average.
 * Feeds queue ETAs. Kept per node: each node sees the completions of the pools it manages and estimates from them.
 */
@ApplicationScoped
public class ProvisioningStats {

    private static final double WEIGHT = 0.2;
    private static final double DEFAULT_SECONDS = 30;

    private final Map<String, Double> averageSeconds = new ConcurrentHashMap<>();

    public void observed(String poolId, Duration took) {
        double seconds = Math.max(0, took.toMillis() / 1000.0);
        averageSeconds.merge(poolId, seconds, (old, now) -> old + WEIGHT * (now - old));
    }

    public double averageSeconds(String poolId) {
        return averageSeconds.getOrDefault(poolId, DEFAULT_SECONDS);
    }
}
