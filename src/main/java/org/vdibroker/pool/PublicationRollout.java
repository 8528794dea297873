package org.vdibroker.pool;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import org.vdibroker.BrokerConfig;
import org.vdibroker.audit.AuditService;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;
import org.vdibroker.desktop.DesktopTransitions;
import org.vdibroker.session.SessionStore;

/**
 * Moves a pool's desktops onto the current publication of its templates. Desktops no session holds are retired (the
 * pool manager's growth makes their replacements from the current publication): ready ones a batch at a time, so
 * the pool keeps serving from the old ones meanwhile, and none while users wait (an old desktop now beats a new one
 * later). Desktops in use are never touched here: at logoff they are retired instead of refreshed (SessionService),
 * and dedicated desktops keep their owner and publication until an admin recycles them.
 */
@ApplicationScoped
public class PublicationRollout {

    @Inject
    BrokerConfig config;
    @Inject
    DesktopService desktops;
    @Inject
    DesktopTransitions transitions;
    @Inject
    SessionStore sessions;
    @Inject
    AuditService audit;

    /**
     * One bounded round for one pool, on the pool's primary owner, before the pool manager advances desktops. The
     * pool's desktops are read only when the local index has an outdated one no session holds.
     */
    public void roll(Pool pool) {
        if (!desktops.anyUnused(pool.id(), pool::outdated)) {
            return; // nothing this round could act on
        }
        List<DesktopState> all = desktops.ofPool(pool.id());
        long replacing = all.stream().filter(d -> d.status() == DesktopStatus.RETIRING
                || (DesktopService.coming(d) && d.status() != DesktopStatus.REFRESHING
                        && !pool.outdated(d.hypervisorId(), d.publication())))
                .count();
        long mayRetireReady = sessions.queueLength(pool.id()) > 0 ? 0
                : Math.max(0, config.poolManager().rolloutBatch() - replacing);
        for (DesktopState d : all) {
            if (!pool.outdated(d.hypervisorId(), d.publication()) || d.sessionId() != null) {
                continue;
            }
            // a pending refresh would revert to the old publication: replace instead, nobody can use it meanwhile
            boolean refreshPending = d.status() == DesktopStatus.REFRESHING && d.task() == null;
            boolean spare = d.status() == DesktopStatus.READY && d.owner() == null;
            if (refreshPending || (spare && mayRetireReady > 0)) {
                if (transitions.superseded(d).isPresent()) {
                    desktops.forgetOwner(d);
                    audit.record("desktop.superseded", "pool-manager", pool.id(), d.id(), null,
                            "publication " + d.publication() + " replaced by "
                                    + pool.publicationOn(d.hypervisorId()));
                    if (spare) {
                        mayRetireReady--;
                    }
                }
            }
        }
    }
}
