package org.vdibroker.pool;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;
import org.vdibroker.agent.AgentCheckIns;
import org.vdibroker.audit.AuditService;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;
import org.vdibroker.desktop.DesktopTransitions;

/**
 * A ready desktop whose agent has not checked in with the desktop's current secret within
 * {@code broker.agents.check-in-grace} is refreshed again, which gives the guest yet another secret: a refresh whose
 * new secret never reached the guest (a node died between storing its hash and the hypervisor applying it) would
 * otherwise leave an agent that gets 401 until the desktop's next refresh. After
 * {@code broker.agents.check-in-refreshes} such refreshes in a row the desktop is FAILED (the pool manager replaces
 * it) and the pool shows the problem {@code agent-silent}. Off unless the grace is set: the broker cannot tell
 * whether a template has an agent.
 */
@Singleton
public class SilentAgents {

    private static final Logger LOG = Logger.getLogger(SilentAgents.class);
    static final String PROBLEM = "agent-silent";

    @Inject
    BrokerConfig config;
    @Inject
    DesktopService desktops;
    @Inject
    DesktopTransitions transitions;
    @Inject
    AgentCheckIns checkIns;
    @Inject
    ProvisionProblems problems;
    @Inject
    AuditService audit;

    Clock clock = Clock.systemUTC();

    /** One round for one pool, from its pool manager; never throws (the rest of the manager's round goes on). */
    public void enforce(Pool pool) {
        Optional<Duration> grace = config.agents().checkInGrace();
        if (grace.isEmpty()) {
            return;
        }
        try {
            Instant due = clock.instant().minus(grace.get());
            // the ready index, not a full read of the pool every tick
            List<DesktopState> ready = desktops.readyOf(pool.id()).stream()
                    .filter(d -> d.status() == DesktopStatus.READY && d.sessionId() == null
                            && d.changedAt().isBefore(due))
                    .toList();
            if (ready.isEmpty()) {
                return;
            }
            Map<DesktopState, Integer> silent = checkIns.silent(ready, config.poolManager().batchSize() * 10);
            if (ready.stream().anyMatch(checkIns::checkedIn)) {
                problems.cleared(pool.id(), PROBLEM); // some agent checks in: the pool's template has a working one
            }
            silent.forEach((d, refreshes) -> act(pool, d, refreshes));
        } catch (RuntimeException e) {
            LOG.infof("Pool %s: agent check-ins not checked this round: %s", pool.id(), e.getMessage());
        }
    }

    private void act(Pool pool, DesktopState d, int refreshes) {
        int most = config.agents().checkInRefreshes();
        if (refreshes >= most) {
            transitions.failed(d).ifPresent(f -> {
                String detail = "the agent of desktop " + d.name() + " did not check in after " + refreshes
                        + " refresh(es) with a new secret; it is replaced (is the agent installed in the template and"
                        + " can it reach the broker?)";
                LOG.warnf("Pool %s: %s", pool.id(), detail);
                audit.record("desktop.failed", "pool-manager", pool.id(), d.id(), null, PROBLEM);
                problems.blocked(pool.id(), PROBLEM, detail, refreshes);
            });
            return;
        }
        transitions.recycled(d).ifPresent(r -> {
            checkIns.refreshedForSilence(d.id(), refreshes + 1);
            LOG.infof("Pool %s: the agent of desktop %s has not checked in since %s; refreshing it with a new secret"
                    + " (%d of %d)", pool.id(), d.id(), d.changedAt(), refreshes + 1, most);
            audit.record("desktop.agent-silent", "pool-manager", pool.id(), d.id(), null,
                    "refresh " + (refreshes + 1) + " of " + most);
        });
    }
}
