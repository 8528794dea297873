package org.vdibroker.session;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.cluster.CacheIndex;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.Counters;
import org.vdibroker.pool.LoginHistory;

/**
 * Sessions in the cluster. The {@code user-sessions} cache maps pool|user to the live session; creating a session
 * is a putIfAbsent there, so one user holds at most one live session per pool, whichever node they ask (invariant 2).
 */
@ApplicationScoped
public class SessionStore {

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    Counters counters;

    @Inject
    LoginHistory loginHistory;

    Clock clock = Clock.systemUTC();

    private Cache<String, SessionState> sessions;
    private Cache<String, String> userSessions;
    private CacheIndex<SessionState> byUser;
    private CacheIndex<SessionState> queuedByPool;
    private CacheIndex<SessionState> byStatus;
    private CacheIndex<SessionState> timeoutCandidatesByPool;

    @PostConstruct
    void init() {
        sessions = manager.getCache(CacheNames.SESSIONS);
        userSessions = manager.getCache(CacheNames.USER_SESSIONS);
        byUser = CacheIndex.attach(sessions, SessionState::user);
        queuedByPool = CacheIndex.attach(sessions,
                s -> s.status() == SessionStatus.QUEUED || s.status() == SessionStatus.PROVISIONING ? s.poolId()
                        : null, SessionState::queueTicket);
        byStatus = CacheIndex.attach(sessions, s -> s.status().name());
        timeoutCandidatesByPool = CacheIndex.attach(sessions, s -> s.status() == SessionStatus.DISCONNECTED
                || s.status().hasDesktop() && s.idleSince() != null ? s.poolId() : null);
    }

    public Optional<SessionState> get(String sessionId) {
        return Optional.ofNullable(sessions.get(sessionId));
    }

    /** The user's live session in the pool, if any. */
    public Optional<SessionState> liveSession(String poolId, String user) {
        String id = userSessions.get(userKey(poolId, user));
        if (id == null) {
            return Optional.empty();
        }
        return get(id).filter(s -> s.status().live());
    }

    /**
     * Returns the user's live session in the pool, creating a QUEUED one if there is none. Racing callers (threads
     * or nodes) all get the same session.
     */
    public SessionState openOrGet(String poolId, String user, String protocol) {
        String key = userKey(poolId, user);
        while (true) {
            Optional<SessionState> existing = liveSession(poolId, user);
            if (existing.isPresent()) {
                return existing.get();
            }
            Instant now = clock.instant();
            SessionState fresh = new SessionState(UUID.randomUUID().toString(), poolId, user, SessionStatus.QUEUED,
                    null, protocol, counters.next("queue:" + poolId), now, now, now, null, null, 1);
            // write the session before publishing it in the index, so whoever finds the id also finds the session
            sessions.put(fresh.id(), fresh);
            String winner = userSessions.putIfAbsent(key, fresh.id());
            if (winner == null) {
                loginHistory.opened(poolId, now); // the arrival predictive pre-warming learns from
                return fresh;
            }
            sessions.remove(fresh.id());
            SessionState other = sessions.get(winner);
            if (other == null || !other.status().live()) {
                // a stale index entry from an ended session: clear it and try again
                userSessions.remove(key, winner);
            }
        }
    }

    /** Applies {@code change} with a conditional replace, retrying on concurrent changes; empty if gone. */
    public Optional<SessionState> update(String sessionId, UnaryOperator<SessionState> change) {
        while (true) {
            SessionState current = sessions.get(sessionId);
            if (current == null) {
                return Optional.empty();
            }
            SessionState next = change.apply(current);
            if (next == null || next.equals(current)) {
                return Optional.of(current);
            }
            if (sessions.replace(sessionId, current, next)) {
                if (!next.status().live()) {
                    userSessions.remove(userKey(next.poolId(), next.user()), sessionId);
                }
                return Optional.of(next);
            }
        }
    }

    /**
     * Notes that the user still asks about a waiting session (so it is not abandoned); written at most every 15 s
     * to keep polling cheap.
     */
    public SessionState touch(SessionState session) {
        Instant now = clock.instant();
        if (session.status() != SessionStatus.QUEUED || session.lastSeenAt().plusSeconds(15).isAfter(now)) {
            return session;
        }
        SessionState seen = session.seen(now);
        return sessions.replace(session.id(), session, seen) ? seen : session;
    }

    /** Writes {@code next} only if the session is still {@code expected}. */
    public boolean replace(SessionState expected, SessionState next) {
        boolean won = sessions.replace(expected.id(), expected, next);
        if (won && !next.status().live()) {
            userSessions.remove(userKey(next.poolId(), next.user()), next.id());
        }
        return won;
    }

    public void remove(SessionState session) {
        sessions.remove(session.id(), session);
    }

    /** The user's sessions (live and recently ended), newest first. */
    public List<SessionState> ofUser(String user) {
        return collect(byUser.get(user));
    }

    /** Waiting sessions of a pool in queue order. */
    public List<SessionState> queue(String poolId) {
        List<SessionState> queued = collect(queuedByPool.get(poolId));
        queued.removeIf(s -> !(s.status() == SessionStatus.QUEUED || s.status() == SessionStatus.PROVISIONING));
        queued.sort(Comparator.comparingLong(SessionState::queueTicket));
        return queued;
    }

    /**
     * How many sessions wait ahead of {@code session} in its pool (lower queue ticket), from this node's index in
     * O(log n) without reading the sessions: what every poll of a queued session asks.
     */
    public int waitingAhead(SessionState session) {
        return queuedByPool.countBelow(session.poolId(), session.queueTicket());
    }

    /**
     * Sessions of a pool that a disconnect or idle timeout could end: disconnected, or with a desktop and an idle
     * user (from the local index, so the pool manager need not look at every session each tick).
     */
    public List<SessionState> timeoutCandidates(String poolId) {
        return collect(timeoutCandidatesByPool.get(poolId));
    }

    public int queueLength(String poolId) {
        return queuedByPool.size(poolId);
    }

    /**
     * Forgets ended sessions older than {@code before}, at most {@code limit} of them; clients polling them got
     * ENDED meanwhile. Runs on every node; the conditional remove makes that harmless.
     */
    public int purgeEnded(Instant before, int limit) {
        int purged = 0;
        for (String id : List.copyOf(byStatus.get(SessionStatus.ENDED.name()))) {
            if (purged >= limit) {
                break;
            }
            SessionState s = sessions.get(id);
            if (s != null && s.status() == SessionStatus.ENDED && s.changedAt().isBefore(before)
                    && sessions.remove(id, s)) {
                purged++;
            }
        }
        return purged;
    }

    /** How many sessions this node knows in the given state. */
    public int countIn(SessionStatus status) {
        return byStatus.size(status.name());
    }

    /** Every session this node knows, for admins and housekeeping. */
    public List<SessionState> all() {
        return new ArrayList<>(sessions.values());
    }

    private List<SessionState> collect(Iterable<String> ids) {
        List<SessionState> result = new ArrayList<>();
        for (String id : ids) {
            SessionState s = sessions.get(id);
            if (s != null) {
                result.add(s);
            }
        }
        result.sort(Comparator.comparing(SessionState::createdAt).reversed());
        return result;
    }

    private static String userKey(String poolId, String user) {
        return poolId + '|' + user;
    }
}
