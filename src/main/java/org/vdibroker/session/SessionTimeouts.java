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

    /** Logs off the pool's sessions whose timeout passed; returns how many. */
    public int enforce(Pool pool) {
        if (pool.idleTimeoutSeconds() <= 0 && pool.disconnectTimeoutSeconds() <= 0) {
            return 0;
        }
        int loggedOff = 0;
        for (DesktopState d : desktops.ofPool(pool.id())) {
            // the desktop only points at candidates; the session's own state decides, in the write that ends it
            if (d.sessionId() == null || !d.status().held()) {
                continue;
            }
            Optional<SessionState> session = store.get(d.sessionId());
            String reason = session.map(s -> expired(s, pool, clock.instant())).orElse(null);
            if (reason != null && sessions.endIf(d.sessionId(),
                    s -> reason.equals(expired(s, pool, clock.instant())), reason, "pool-manager")
                    .filter(s -> !s.status().live()).isPresent()) {
                loggedOff++;
            }
        }
        return loggedOff;
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
