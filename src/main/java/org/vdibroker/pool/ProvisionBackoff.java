package org.vdibroker.pool;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;

/**
 * Exponential back-off per template (pool and hypervisor) whose provisions or first starts fail: after a failure the
 * template gets one trial provision per back-off period, the period doubling with each further failure up to a maximum,
 * until one succeeds. So a bad template costs a bounded number of attempts however long it stays bad. Kept by the node
 * that manages the pool; a new owner starts afresh, which costs at most one more round of attempts.
 */
@ApplicationScoped
public class ProvisionBackoff {

    private static final Logger LOG = Logger.getLogger(ProvisionBackoff.class);

    @Inject
    BrokerConfig config;

    Clock clock = Clock.systemUTC();

    /**
     * How many provisions or starts failed in a row, when the next trial may be issued, and when the last counted
     * failure was learned.
     */
    public record Failing(int failures, Instant nextAttemptAt, Instant lastFailedAt) {
    }

    private final Map<String, Failing> failing = new ConcurrentHashMap<>();

    /** Whether a provision on this template may be issued now. */
    public boolean allows(String poolId, String hypervisorId) {
        Failing f = failing.get(key(poolId, hypervisorId));
        return f == null || !clock.instant().isBefore(f.nextAttemptAt());
    }

    /** Whether the template's provisions are failing: then it gets one trial at a time, however many are placed. */
    public boolean failing(String poolId, String hypervisorId) {
        return failing.containsKey(key(poolId, hypervisorId));
    }

    /** A provision was issued; while the template is failing it is the one trial of this period. */
    public void attempted(String poolId, String hypervisorId) {
        failing.computeIfPresent(key(poolId, hypervisorId),
                (k, f) -> new Failing(f.failures(), clock.instant().plus(delay(f.failures())), f.lastFailedAt()));
    }

    /**
     * A provision or a start (a desktop counts as provisioned once it runs), issued at {@code issuedAt}, failed. Only
     * an attempt issued after the last counted failure counts: those issued side by side before anyone knew the
     * template failed (a pool's round of creations) are one failure, not one each, so a burst of them does not send
     * the back-off to its maximum at once.
     */
    public Failing failed(String poolId, String hypervisorId, Instant issuedAt) {
        Instant now = clock.instant();
        Failing f = failing.merge(key(poolId, hypervisorId), new Failing(1, now.plus(delay(1)), now),
                (old, first) -> issuedAt.isBefore(old.lastFailedAt()) ? old
                        : new Failing(old.failures() + 1, now.plus(delay(old.failures() + 1)), now));
        LOG.infof("Pool %s: provisions on %s failed %d time(s) in a row; next attempt not before %s", poolId,
                hypervisorId, f.failures(), f.nextAttemptAt());
        return f;
    }

    public void succeeded(String poolId, String hypervisorId) {
        if (failing.remove(key(poolId, hypervisorId)) != null) {
            LOG.infof("Pool %s: provisions on %s work again", poolId, hypervisorId);
        }
    }

    Duration delay(int failures) {
        Duration initial = config.poolManager().provisionBackoff().initial();
        Duration max = config.poolManager().provisionBackoff().max();
        int doublings = Math.min(failures - 1, 30);
        Duration delay = initial.multipliedBy(1L << doublings);
        return delay.compareTo(max) > 0 ? max : delay;
    }

    private static String key(String poolId, String hypervisorId) {
        return poolId + '|' + hypervisorId;
    }
}
