package org.vdibroker.session;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.util.Optional;
import org.vdibroker.audit.AuditService;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopTransitions;
import org.vdibroker.pool.Pool;
import org.vdibroker.pool.PoolCatalog;

/** What happens to sessions: a desktop is assigned, the user connects, disconnects, logs off. */
@ApplicationScoped
public class SessionService {

    @Inject
    SessionStore store;

    @Inject
    DesktopService desktops;

    @Inject
    DesktopTransitions transitions;

    @Inject
    PoolCatalog catalog;

    @Inject
    AuditService audit;

    Clock clock = Clock.systemUTC();

    /**
     * Tries to give a waiting session a desktop. The desktop is claimed first (conditional write on the desktop),
     * then the session is moved to READY (conditional write on the session); if the session changed meanwhile, the
     * claim is undone, so a session never ends up with two desktops.
     */
    public Optional<SessionState> tryAssign(SessionState session, Pool pool) {
        if (session.status() != SessionStatus.QUEUED && session.status() != SessionStatus.PROVISIONING) {
            return Optional.empty();
        }
        Optional<DesktopState> claimed = desktops.claim(pool.id(), session.id(), session.user(), pool.dedicated());
        if (claimed.isEmpty()) {
            return Optional.empty();
        }
        DesktopState desktop = claimed.get();
        SessionState ready = session.withStatus(SessionStatus.READY, desktop.id(), clock.instant());
        if (store.replace(session, ready)) {
            audit.record("desktop.assigned", session.user(), pool.id(), desktop.id(), session.id(), null);
            return Optional.of(ready);
        }
        desktops.get(desktop.id()).ifPresent(d -> transitions.unclaimed(d, session.id()));
        return Optional.empty();
    }

    /** The agent reported a logon: session CONNECTED, desktop IN_USE. */
    public void connected(SessionState session) {
        store.update(session.id(), s -> s.status() == SessionStatus.READY || s.status() == SessionStatus.DISCONNECTED
                ? s.withStatus(SessionStatus.CONNECTED, s.desktopId(), clock.instant()) : s);
        desktops.get(session.desktopId()).ifPresent(d -> transitions.connected(d, session.id()));
    }

    /** The client went away but the user's desktop session goes on. */
    public void disconnected(SessionState session) {
        store.update(session.id(), s -> s.status() == SessionStatus.CONNECTED
                ? s.withStatus(SessionStatus.DISCONNECTED, s.desktopId(), clock.instant()) : s);
        desktops.get(session.desktopId()).ifPresent(d -> transitions.disconnected(d, session.id()));
    }

    /**
     * Ends a session. A floating desktop goes to REFRESHING (the pool manager reverts it before anyone else gets it);
     * a dedicated one stays with its owner.
     */
    public Optional<SessionState> end(String sessionId, String reason, String actor) {
        Optional<SessionState> before = store.get(sessionId);
        if (before.isEmpty() || !before.get().status().live()) {
            return before;
        }
        Optional<SessionState> ended = store.update(sessionId,
                s -> s.status().live() ? s.ended(reason, clock.instant()) : s);
        ended.filter(s -> s.desktopId() != null).ifPresent(s -> release(s));
        ended.ifPresent(s -> audit.record("session.ended", actor, s.poolId(), s.desktopId(), s.id(), reason));
        return ended;
    }

    private void release(SessionState session) {
        boolean dedicated = catalog.get(session.poolId()).map(Pool::dedicated).orElse(false);
        for (int attempt = 0; attempt < 10; attempt++) {
            Optional<DesktopState> desktop = desktops.get(session.desktopId());
            if (desktop.isEmpty() || !session.id().equals(desktop.get().sessionId())) {
                return;
            }
            Optional<DesktopState> released = dedicated ? transitions.releasedToOwner(desktop.get(), session.id())
                    : transitions.releasedForRefresh(desktop.get(), session.id(), null);
            if (released.isPresent()) {
                return;
            }
        }
    }
}
