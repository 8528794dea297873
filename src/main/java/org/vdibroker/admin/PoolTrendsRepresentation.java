package org.vdibroker.admin;

import java.util.List;
import org.vdibroker.pool.PoolTrends;
import org.vdibroker.session.TimeToDesktop;

/**
 * A pool over time, for the admin console's charts: samples of ready spares, spare target and queue depth every
 * {@code sampleIntervalSeconds}, and each wait for a desktop this node assigned. What one node saw, since it started.
 */
public record PoolTrendsRepresentation(String poolId, String node, long sampleIntervalSeconds,
        List<PoolTrends.Sample> samples, List<TimeToDesktop.Wait> timeToDesktop) {
}
