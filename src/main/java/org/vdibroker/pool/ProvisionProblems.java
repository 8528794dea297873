package org.vdibroker.pool;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;
import org.vdibroker.audit.AuditService;
import org.vdibroker.cluster.CacheNames;

/**
 * Which pools cannot provision now, and why: set by the pool manager of the pool when its desktops cannot be placed
 * or their provisions or starts fail, cleared when a desktop starts again. Kept in the live state, so every node
 * shows it (admin pool status, readiness details, a queued user's session). A change of kind is logged and audited
 * ({@code pool.cannot-provision}, {@code pool.provisioning-recovered}); gauge {@code vdi.pool.provisioning.blocked}
 * is 1 while a pool is blocked.
 */
@ApplicationScoped
public class ProvisionProblems {

    private static final Logger LOG = Logger.getLogger(ProvisionProblems.class);

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    AuditService audit;

    @Inject
    MeterRegistry meters;

    @Inject
    org.vdibroker.BrokerConfig config;

    Clock clock = Clock.systemUTC();

    /**
     * Pools whose placement found no room, since when (seen on this node, the pool's manager). A pool that is full
     * for a moment while desktops turn over is not a problem: it is reported once it lasts five pool-manager ticks,
     * so a busy pool does not flood the log and the audit with cannot-provision / recovered pairs.
     */
    private final Map<String, java.time.Instant> noRoomSince = new ConcurrentHashMap<>();

    private Cache<String, ProvisionProblem> problems;
    private final Set<String> gauged = ConcurrentHashMap.newKeySet();

    @PostConstruct
    void init() {
        problems = manager.getCache(CacheNames.POOL_PROVISIONING);
    }

    public Optional<ProvisionProblem> of(String poolId) {
        try {
            return Optional.ofNullable(problems.get(poolId));
        } catch (RuntimeException e) {
            return Optional.empty(); // live state unavailable: say nothing rather than fail the caller
        }
    }

    /** Every blocked pool. */
    public Map<String, ProvisionProblem> all() {
        return Map.copyOf(problems);
    }

    /** The pool cannot provision, for {@code kind}; logged and audited when the kind changes. */
    public void blocked(String poolId, String kind, String detail, int failures) {
        gauge(poolId);
        ProvisionProblem before = problems.get(poolId);
        boolean newKind = before == null || !before.kind().equals(kind);
        ProvisionProblem now = new ProvisionProblem(kind, detail, newKind ? clock.instant() : before.since(),
                failures);
        if (now.equals(before)) {
            return;
        }
        problems.put(poolId, now);
        if (newKind) {
            LOG.warnf("Pool %s cannot provision desktops (%s): %s", poolId, kind, detail);
            audit.record("pool.cannot-provision", "pool-manager", poolId, null, null, kind + ": " + detail);
        }
    }

    /** Placement found no room for the pool's next desktop: reported when that lasts (see {@link #noRoomSince}). */
    public void noRoom(String poolId, ProvisionProblem problem) {
        java.time.Instant first = noRoomSince.computeIfAbsent(poolId, k -> clock.instant());
        if (!clock.instant().isBefore(first.plus(config.poolManager().interval().multipliedBy(5)))) {
            blocked(poolId, problem.kind(), problem.detail(), 0);
        }
    }

    /** A failed provision or start; the kind is read from the hypervisor's message. */
    public void failed(String poolId, String error, int failures, String nextAttempt) {
        String kind = classify(error);
        if ("failing".equals(kind) && failures < 2) {
            return; // one failure of unknown cause may be passing: shown from the second in a row
        }
        blocked(poolId, kind, error + " (" + failures + " failure(s) in a row; next attempt not before "
                + nextAttempt + ")", failures);
    }

    /**
     * Clears the problem of the pool; with {@code onlyKind}, only a problem of that kind. Without, any problem but
     * {@code agent-silent}, which only {@link SilentAgents} clears.
     */
    public void cleared(String poolId, String onlyKind) {
        if (onlyKind == null || "no-capacity".equals(onlyKind) || "no-hypervisor".equals(onlyKind)) {
            noRoomSince.remove(poolId);
        }
        ProvisionProblem before = problems.get(poolId);
        if (before == null || (onlyKind != null && !onlyKind.equals(before.kind()))
                || (onlyKind == null && SilentAgents.PROBLEM.equals(before.kind()))) {
            // a desktop that starts says nothing about its agent: that problem is cleared by a check-in only
            return;
        }
        if (problems.remove(poolId, before)) {
            LOG.infof("Pool %s provisions desktops again (was %s)", poolId, before.kind());
            audit.record("pool.provisioning-recovered", "pool-manager", poolId, null, null, before.kind());
        }
    }

    /** What a hypervisor's error says, as a kind; the drivers' messages name libvirt's and vSphere's errors. */
    static String classify(String error) {
        String e = error == null ? "" : error.toLowerCase(Locale.ROOT);
        if (e.contains("network") && (e.contains("not active") || e.contains("inactive"))) {
            return "network-inactive";
        }
        if (e.contains("network not found")) {
            return "network-missing";
        }
        if (e.contains("template") && (e.contains("not found") || e.contains("missing") || e.contains("no such"))
                || e.contains("storage volume not found") || e.contains("base image")) {
            return "template-missing";
        }
        return "failing";
    }

    private void gauge(String poolId) {
        if (gauged.add(poolId)) {
            Gauge.builder("vdi.pool.provisioning.blocked", () -> of(poolId).isPresent() ? 1 : 0).tag("pool", poolId)
                    .description("1 while the pool cannot provision desktops (see the pool's provisioning status)")
                    .register(meters);
        }
    }
}
