package org.vdibroker.session;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Predicate;
import org.vdibroker.audit.AuditService;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopTransitions;
import org.vdibroker.pool.Pool;
import org.vdibroker.pool.PoolCatalog;

/** What happens to sessions: a desktop is assigned, the user connects, disconnects, logs off. */
@ApplicationScoped
public class SessionService {

    /** Idle reports that differ by less than this are the same idle period. */
    private static final long IDLE_SLACK_SECONDS = 5;

    @Inject
    SessionStore store;

    @Inject
    DesktopService desktops;

    @Inject
    DesktopTransitions transitions;

    @Inject
    PoolCatalog catalog;

    @Inject
    org.vdibroker.pool.Evacuations evacuations;

    @Inject
    AuditService audit;

    @Inject
    TimeToDesktop timeToDesktop;

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
        Optional<DesktopState> claimed = desktops.claim(pool.id(), session.id(), session.subject(), session.user(),
                pool.dedicated());
        if (claimed.isEmpty()) {
            return Optional.empty();
        }
        DesktopState desktop = claimed.get();
        SessionState ready = session.withStatus(SessionStatus.READY, desktop.id(), clock.instant());
        if (store.replace(session, ready)) {
            audit.record("desktop.assigned", session.user(), pool.id(), desktop.id(), session.id(), null);
            timeToDesktop.assigned(pool.id(), session.createdAt(), ready.changedAt());
            return Optional.of(ready);
        }
        unclaim(desktop.id(), session.id());
        return Optional.empty();
    }

    /**
     * A new session was opened READY on a desktop claimed for it beforehand (see {@link SessionStore.FirstClaim}).
     * Timed first: a request asked again after this failed finds its session and would not time it.
     */
    public void assignedOnOpen(SessionState session) {
        timeToDesktop.assigned(session.poolId(), session.createdAt(), session.changedAt());
        audit.record("desktop.assigned", session.user(), session.poolId(), session.desktopId(), session.id(), null);
    }

    /** Gives back a desktop claimed for a session that does not hold it (never published, or changed meanwhile). */
    public void unclaim(String desktopId, String sessionId) {
        desktops.get(desktopId).ifPresent(d -> transitions.unclaimed(d, sessionId));
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
     * Ends a session. A floating desktop goes to REFRESHING (the pool manager reverts it before anyone else gets it),
     * or to RETIRING when a newer publication of its template exists (it is replaced, not reverted to the old one);
     * a dedicated one stays with its owner.
     */
    public Optional<SessionState> end(String sessionId, String reason, String actor) {
        return endIf(sessionId, s -> true, reason, actor);
    }

    /**
     * Ends the session only if {@code still} holds for its current value, checked in the same conditional write, so
     * a timeout that races with a reconnect never logs off the user who just came back. Returns the session as it is
     * afterwards (ended or not); empty if it does not exist.
     */
    public Optional<SessionState> endIf(String sessionId, Predicate<SessionState> still, String reason,
            String actor) {
        Optional<SessionState> before = store.get(sessionId);
        if (before.isEmpty() || !before.get().status().live()) {
            return before;
        }
        boolean[] endedNow = new boolean[1];
        Optional<SessionState> after = store.update(sessionId, s -> {
            endedNow[0] = s.status().live() && still.test(s);
            return endedNow[0] ? s.ended(reason, clock.instant()) : s;
        });
        if (endedNow[0]) {
            after.filter(s -> s.desktopId() != null).ifPresent(this::release);
            after.ifPresent(s -> audit.record("session.ended", actor, s.poolId(), s.desktopId(), s.id(), reason));
        }
        return after;
    }

    /**
     * The agent says the user has been idle for {@code idleSeconds} (0: active). Written only when it changes what
     * the idle timeout would decide, so a heartbeat every few seconds does not rewrite the session each time.
     */
    public void reportIdle(SessionState session, long idleSeconds) {
        Instant now = clock.instant();
        Instant since = idleSeconds <= 0 ? null : now.minusSeconds(idleSeconds);
        store.update(session.id(), s -> {
            if (!s.status().hasDesktop() || !java.util.Objects.equals(session.desktopId(), s.desktopId())) {
                return s;
            }
            Instant known = s.idleSince();
            boolean same = since == null ? known == null
                    : known != null && Math.abs(Duration.between(known, since).toSeconds()) < IDLE_SLACK_SECONDS;
            return same ? s : s.idle(since);
        });
    }

    private void release(SessionState session) {
        Optional<Pool> pool = catalog.get(session.poolId());
        boolean dedicated = pool.map(Pool::dedicated).orElse(false);
        for (int attempt = 0; attempt < 10; attempt++) {
            Optional<DesktopState> desktop = desktops.get(session.desktopId());
            if (desktop.isEmpty() || !session.id().equals(desktop.get().sessionId())) {
                return;
            }
            DesktopState d = desktop.get();
            Optional<DesktopState> released;
            if (dedicated) {
                released = transitions.releasedToOwner(d, session.id());
            } else if (pool.map(p -> p.outdated(d.hypervisorId(), d.publication())).orElse(false)
                    || evacuations.isEvacuating(d.hypervisorId())) {
                released = transitions.releasedForReplacement(d, session.id());
            } else {
                released = transitions.releasedForRefresh(d, session.id(), null);
            }
            if (released.isPresent()) {
                return;
            }
        }
    }
}
