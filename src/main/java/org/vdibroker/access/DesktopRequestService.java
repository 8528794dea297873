package org.vdibroker.access;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.smallrye.faulttolerance.api.ApplyGuard;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Optional;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.api.ProblemException;
import org.vdibroker.cluster.PeerStoppingRetry;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.pool.Pool;
import org.vdibroker.pool.PoolCatalog;
import org.vdibroker.pool.WaitEstimate;
import org.vdibroker.security.Caller;
import org.vdibroker.session.SessionService;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;
import org.vdibroker.session.SessionStore;

/** A user asks for a desktop: entitlement, one session per user and pool, claim or queue. */
@ApplicationScoped
public class DesktopRequestService {

    @Inject
    PoolCatalog catalog;

    @Inject
    SessionStore sessions;

    @Inject
    SessionService sessionService;

    @Inject
    DesktopService desktops;

    @Inject
    WaitEstimate waits;

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    MeterRegistry meters;

    @Inject
    IdempotencyKeys idempotency;

    private Timer assignment;

    @PostConstruct
    void init() {
        assignment = Timer.builder("vdi.assignment.latency").description("time to answer a desktop request")
                .publishPercentileHistogram().register(meters);
    }

    /** The pool, if it exists and the caller may use it; 404 or 403 problems otherwise. */
    public Pool entitledPool(Caller caller, String poolId) {
        Pool pool = catalog.get(poolId).orElseThrow(() -> ProblemException.notFound("Pool", poolId));
        if (!pool.entitles(caller.user(), caller.groups())) {
            throw new ProblemException(403, "not-entitled", "Not entitled",
                    "you are not entitled to pool " + poolId);
        }
        if (!pool.enabled()) {
            throw new ProblemException(409, "pool-disabled", "Pool disabled", "pool " + poolId + " is disabled");
        }
        return pool;
    }

    /**
     * Refuses a new connection to a live session whose pool the caller is no longer entitled to (removed from its
     * groups since the session began): entitlement is rechecked on every ticket, not only when the session opens.
     */
    public void checkStillEntitled(Caller caller, String poolId) {
        boolean entitled = catalog.get(poolId).map(p -> p.entitles(caller.user(), caller.groups())).orElse(false);
        if (!entitled) {
            throw new ProblemException(403, "not-entitled", "Not entitled",
                    "you are no longer entitled to pool " + poolId);
        }
    }

    public List<Pool> entitledPools(Caller caller) {
        return catalog.all().stream().filter(p -> p.enabled() && p.entitles(caller.user(), caller.groups()))
                .toList();
    }

    /**
     * Returns the caller's session for the pool: the existing live one, or a new one (assigned or queued). Asked again
     * when a node that held a copy of a key was shutting down (it refuses writes until it has left the view, a moment
     * later): each step is safe to repeat, as after a node's death between two writes (the user's live session is
     * found again; a claim or a session left half-written is given back by the pool manager).
     */
    @ApplyGuard(PeerStoppingRetry.NAME)
    public SessionState request(Caller caller, String poolId, String protocol, String idempotencyKey) {
        Timer.Sample sample = Timer.start(meters);
        try {
            Pool pool = entitledPool(caller, poolId);
            String chosen = protocol == null ? pool.defaultProtocol() : protocol;
            if (!pool.protocols().contains(chosen)) {
                throw new ProblemException(400, "protocol-not-allowed", "Protocol not allowed",
                        "pool " + poolId + " offers " + String.join(", ", pool.protocols()));
            }
            if (idempotencyKey != null) {
                // keyed by subject, and the session is checked again: a replay never hands over another's session
                Optional<SessionState> earlier = idempotency.sessionOf(caller.subject(), idempotencyKey)
                        .flatMap(sessions::get).filter(s -> s.ownedBy(caller.subject()));
                if (earlier.isPresent()) {
                    if (!earlier.get().poolId().equals(poolId)) {
                        throw new ProblemException(422, "idempotency-key-reused", "Idempotency key reused",
                                "this Idempotency-Key was used for another pool");
                    }
                    return earlier.get();
                }
            }
            FirstClaim first = new FirstClaim(pool, caller);
            SessionState session = sessions.openOrGet(poolId, caller.subject(), caller.user(), chosen, first);
            if (idempotencyKey != null) {
                idempotency.remember(caller.subject(), idempotencyKey, session.id());
            }
            if (session.id().equals(first.opened)) { // a new session: it took a desktop at once, or it waits
                if (session.status() == SessionStatus.READY) {
                    sessionService.assignedOnOpen(session);
                    return session;
                }
                return sessions.enqueue(session);
            }
            if (session.status() == SessionStatus.QUEUED && mayClaimNow(session, pool)) {
                SessionState waiting = session;
                Optional<SessionState> assigned = sessionService.tryAssign(waiting, pool);
                if (assigned.isPresent()) {
                    return assigned.get();
                }
                session = sessions.get(waiting.id()).orElse(waiting);
            }
            return sessions.enqueue(session); // it has to wait: its place in the queue, if it has none yet
        } finally {
            sample.stop(assignment);
        }
    }

    /**
     * The desktop a new session takes before it is written, under the same first-come rule as {@link #mayClaimNow}:
     * everybody queued is ahead of a newcomer.
     */
    private final class FirstClaim implements SessionStore.FirstClaim {
        private final Pool pool;
        private final Caller caller;
        /** The id of the new session this request opened (claimed for or not); null if it found a live one. */
        String opened;

        FirstClaim(Pool pool, Caller caller) {
            this.pool = pool;
            this.caller = caller;
        }

        @Override
        public String claim(String sessionId) {
            opened = sessionId;
            boolean mayClaim = pool.dedicated()
                    && desktops.ownedBy(pool.id(), caller.subject(), caller.user()).isPresent()
                    || sessions.queueLength(pool.id()) < desktops.readyCount(pool.id());
            return mayClaim ? desktops.claim(pool.id(), sessionId, caller.subject(), caller.user(), pool.dedicated())
                    .map(DesktopState::id).orElse(null) : null;
        }

        @Override
        public void release(String sessionId, String desktopId) {
            opened = null;
            sessionService.unclaim(desktopId, sessionId);
        }
    }

    /**
     * First come, first served: a new session takes a ready desktop directly only when there are more ready
     * desktops than sessions ahead of it; otherwise the pool manager hands desktops out in queue order.
     */
    private boolean mayClaimNow(SessionState session, Pool pool) {
        if (pool.dedicated() && desktops.ownedBy(pool.id(), session.subject(), session.user()).isPresent()) {
            return true;
        }
        return queuePosition(session) <= desktops.readyCount(pool.id());
    }

    /** 1 for the head of the queue; 0 when not waiting. */
    public int queuePosition(SessionState session) {
        if (session.status() != SessionStatus.QUEUED && session.status() != SessionStatus.PROVISIONING) {
            return 0;
        }
        return sessions.waitingAhead(session) + 1;
    }

    /** Seconds until the session likely has a desktop, from observed provisioning times. */
    public long etaSeconds(SessionState session, int position) {
        if (position == 0) {
            return 0;
        }
        return catalog.get(session.poolId()).map(p -> waits.seconds(p, position)).orElse(0L);
    }

    /** The state a client sees: QUEUED turns into PROVISIONING once a desktop is being made for it. */
    public String visibleState(SessionState session, int position) {
        if (session.status() == SessionStatus.QUEUED && position > 0) {
            long inFlight = desktops.comingCount(session.poolId());
            int ready = desktops.readyCount(session.poolId());
            if (position > ready && position <= ready + inFlight) {
                return SessionStatus.PROVISIONING.name();
            }
        }
        return session.status().name();
    }

    /** Estimated wait for a newcomer to the pool: the one behind everybody waiting. */
    public long estimatedWait(Pool pool) {
        return waits.seconds(pool, sessions.queueLength(pool.id()) + 1);
    }

    public int desktopsReady(Pool pool) {
        return desktops.readyCount(pool.id());
    }

    public int queueLength(Pool pool) {
        return sessions.queueLength(pool.id());
    }
}
