package org.vdibroker.session;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.vdibroker.BrokerConfig;

/**
 * How long users waited for a desktop: from the request (the session's creation) to the desktop assigned. Kept as
 * the timer {@code vdi.session.time.to.desktop{pool}} and, for the admin console's charts, as the recent waits
 * this node assigned (in memory, for {@code broker.charts.history}).
 */
@ApplicationScoped
public class TimeToDesktop {

    /** One assignment: when, and how long the user had waited. */
    public record Wait(Instant at, double seconds) {
    }

    /** Bounds memory whatever the history: a pool's newest waits only. */
    static final int MAX_PER_POOL = 2000;

    @Inject
    MeterRegistry meters;

    @Inject
    BrokerConfig config;

    private final Map<String, Deque<Wait>> recent = new ConcurrentHashMap<>();

    /** Records that a session of {@code poolId} created at {@code requestedAt} got its desktop at {@code at}. */
    public void assigned(String poolId, Instant requestedAt, Instant at) {
        Duration waited = Duration.between(requestedAt, at);
        if (waited.isNegative()) {
            waited = Duration.ZERO;
        }
        Timer.builder("vdi.session.time.to.desktop").tag("pool", poolId)
                .description("from a desktop request to the desktop assigned, queue and provisioning included")
                .publishPercentileHistogram().register(meters).record(waited);
        Deque<Wait> waits = recent.computeIfAbsent(poolId, k -> new ArrayDeque<>());
        synchronized (waits) {
            waits.addLast(new Wait(at, waited.toMillis() / 1000.0));
            while (waits.size() > MAX_PER_POOL) {
                waits.removeFirst();
            }
        }
    }

    /** The waits of {@code poolId} this node recorded since {@code since}, oldest first. */
    public List<Wait> since(String poolId, Instant since) {
        Deque<Wait> waits = recent.get(poolId);
        if (waits == null) {
            return List.of();
        }
        synchronized (waits) {
            waits.removeIf(w -> w.at().isBefore(Instant.now().minus(config.charts().history())));
            return waits.stream().filter(w -> !w.at().isBefore(since)).toList();
        }
    }
}
