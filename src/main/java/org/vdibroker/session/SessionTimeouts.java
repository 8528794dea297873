package org.vdibroker.session;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.pool.Pool;

/**
 * A pool's disconnect and idle timeouts (0: never). A session DISCONNECTED for longer than the disconnect timeout,
 * or whose agent reports the user idle for longer than the idle timeout, is logged off like any other session: a
 * floating desktop is refreshed, a dedicated one stays with its owner. Runs on the pool's primary owner.
 */
@ApplicationScoped
public class SessionTimeouts {

    public static final String DISCONNECT_TIMEOUT = "disconnect-timeout";
    public static final String IDLE_TIMEOUT = "idle-timeout";

    @Inject
    DesktopService desktops;
    @Inject
    SessionStore store;
    @Inject
    SessionService sessions;

    Clock clock = Clock.systemUTC();

    /** Logs off the pool's sessions whose timeout passed, walking all its desktops; returns how many. */
    public int enforce(Pool pool) {
        return enforce(pool, true);
    }

    /**
     * Logs off the pool's sessions whose timeout passed; returns how many. With {@code sweep} every desktop of the
     * pool is looked at (the safety net for a missed cache event), else only the sessions the store's index names as
     * disconnected or idle.
     */
    public int enforce(Pool pool, boolean sweep) {
        if (pool.idleTimeoutSeconds() <= 0 && pool.disconnectTimeoutSeconds() <= 0) {
            return 0;
        }
        int loggedOff = 0;
        if (sweep) {
            for (DesktopState d : desktops.ofPool(pool.id())) {
                if (d.sessionId() != null && d.status().held() && logOffIfExpired(d.sessionId(), pool)) {
                    loggedOff++;
                }
            }
            return loggedOff;
        }
        for (SessionState s : store.timeoutCandidates(pool.id())) {
            // the same candidates as the walk: sessions on a desktop that is held by them
            if (expired(s, pool, clock.instant()) != null && s.desktopId() != null
                    && desktops.get(s.desktopId()).filter(d -> s.id().equals(d.sessionId()) && d.status().held())
                            .isPresent()
                    && logOffIfExpired(s.id(), pool)) {
                loggedOff++;
            }
        }
        return loggedOff;
    }

    /** The session's own state decides, in the write that ends it; the desktop only points at candidates. */
    private boolean logOffIfExpired(String sessionId, Pool pool) {
        Optional<SessionState> session = store.get(sessionId);
        String reason = session.map(s -> expired(s, pool, clock.instant())).orElse(null);
        return reason != null && sessions.endIf(sessionId, s -> reason.equals(expired(s, pool, clock.instant())),
                reason, "pool-manager").filter(s -> !s.status().live()).isPresent();
    }

    /** Which timeout, if any, has passed for the session at {@code now}. */
    static String expired(SessionState s, Pool pool, Instant now) {
        if (pool.disconnectTimeoutSeconds() > 0 && s.status() == SessionStatus.DISCONNECTED
                && !s.changedAt().plusSeconds(pool.disconnectTimeoutSeconds()).isAfter(now)) {
            return DISCONNECT_TIMEOUT;
        }
        if (pool.idleTimeoutSeconds() > 0 && s.status().hasDesktop() && s.idleSince() != null
                && !s.idleSince().plusSeconds(pool.idleTimeoutSeconds()).isAfter(now)) {
            return IDLE_TIMEOUT;
        }
        return null;
    }
}
