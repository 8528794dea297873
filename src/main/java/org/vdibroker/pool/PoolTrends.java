package org.vdibroker.pool;

import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.session.SessionStore;

/**
 * Every pool's ready spares, spare target and queue depth over time, for the admin console's charts. Each node
 * samples the cluster-wide counts itself and keeps them in memory for {@code broker.charts.history}: a node that
 * just started shows a short history, nothing is written to the database.
 */
@ApplicationScoped
public class PoolTrends {

    private static final Logger LOG = Logger.getLogger(PoolTrends.class);

    /** One sample of a pool: ready unassigned desktops, what the pool manager aims for, sessions waiting. */
    public record Sample(Instant at, int ready, int target, int queue) {
    }

    @Inject
    PoolCatalog catalog;

    @Inject
    DesktopService desktops;

    @Inject
    SessionStore sessions;

    @Inject
    SpareTarget spareTarget;

    @Inject
    BrokerConfig config;

    Clock clock = Clock.systemUTC();

    private final Map<String, Deque<Sample>> samples = new ConcurrentHashMap<>();

    @Scheduled(every = "${broker.charts.sample-interval}", delayed = "1s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void sample() {
        Instant now = clock.instant();
        Instant oldest = now.minus(config.charts().history());
        for (Pool pool : catalog.all()) {
            try {
                // the same target the pool manager computes (a pre-warming pool reads its login history)
                Sample sample = new Sample(now, desktops.readyCount(pool.id()), spareTarget.at(pool, now),
                        sessions.queueLength(pool.id()));
                Deque<Sample> series = samples.computeIfAbsent(pool.id(), k -> new ArrayDeque<>());
                synchronized (series) {
                    series.addLast(sample);
                    while (!series.isEmpty() && series.peekFirst().at().isBefore(oldest)) {
                        series.removeFirst();
                    }
                }
            } catch (RuntimeException e) {
                // a chart missing a point is no reason to disturb the node (e.g. the database is down)
                LOG.debugf(e, "pool trends: no sample of %s this round", pool.id());
            }
        }
        samples.keySet().removeIf(id -> catalog.get(id).isEmpty()); // deleted pools
    }

    /** The samples of {@code poolId} since {@code since}, oldest first; empty for a pool not sampled yet. */
    public List<Sample> since(String poolId, Instant since) {
        Deque<Sample> series = samples.get(poolId);
        if (series == null) {
            return List.of();
        }
        synchronized (series) {
            return series.stream().filter(s -> !s.at().isBefore(since)).toList();
        }
    }
}
