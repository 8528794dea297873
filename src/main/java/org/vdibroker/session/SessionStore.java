package org.vdibroker.session;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.cluster.CacheIndex;
import org.vdibroker.cluster.CacheIndexes;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.Counters;
import org.vdibroker.cluster.LocalKeys;
import org.vdibroker.pool.LoginHistory;

/**
 * Sessions in the cluster. The {@code user-sessions} cache maps pool|subject (the token's {@code sub}) to the live
 * session; creating a session is a putIfAbsent there, so one user holds at most one live session per pool, whichever
 * node they ask (invariant 2). Two identities with the same user name are two users.
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
    private CacheIndex<SessionState> bySubject;
    private CacheIndex<SessionState> queuedByPool;
    /** The queue again, by when each user last asked about their session: the abandoned ones come first. */
    private CacheIndex<SessionState> queuedBySeen;
    private CacheIndex<SessionState> byStatus;
    /** New sessions that have neither a desktop nor a queue ticket yet (normally only during their request). */
    private CacheIndex<SessionState> arrivingByPool;
    private CacheIndex<SessionState> timeoutCandidatesByPool;
    /** Live sessions an older broker opened (no subject), by pool|user name; empty once no older broker runs. */
    private CacheIndex<SessionState> legacyByName;
    /**
     * ENDED sessions this node knows, oldest first, so {@link #purgeEnded} stops at the first one still too young
     * instead of reading every ENDED session each tick.
     */
    private final NavigableSet<Ended> endedByTime = new ConcurrentSkipListSet<>();
    private final Map<String, Ended> endedOf = new ConcurrentHashMap<>();

    /** An ENDED session and when it ended, ordered by that time (then id). */
    private record Ended(Instant at, String id) implements Comparable<Ended> {
        private static final Comparator<Ended> ORDER = Comparator.comparing(Ended::at).thenComparing(Ended::id);

        @Override
        public int compareTo(Ended other) {
            return ORDER.compare(this, other);
        }
    }

    @PostConstruct
    void init() {
        sessions = manager.getCache(CacheNames.SESSIONS);
        userSessions = manager.getCache(CacheNames.USER_SESSIONS);
        // one listener for all of them
        CacheIndexes<SessionState> indexes = CacheIndexes.of(sessions, SessionState::version);
        bySubject = indexes.index(SessionState::subject);
        queuedByPool = indexes.index(SessionStore::queuedPool, SessionState::queueTicket);
        queuedBySeen = indexes.ordered(SessionStore::queuedPool, s -> s.lastSeenAt().toEpochMilli());
        arrivingByPool = indexes.index(s -> s.queueTicket() == 0 && waiting(s) ? s.poolId() : null);
        byStatus = indexes.index(s -> s.status().name());
        timeoutCandidatesByPool = indexes.index(s -> s.status() == SessionStatus.DISCONNECTED
                || s.status().hasDesktop() && s.idleSince() != null ? s.poolId() : null);
        legacyByName = indexes.index(s -> s.subject() == null && s.user() != null && s.status().live()
                ? userKey(s.poolId(), s.user()) : null);
        indexes.follow(this::followEnded);
        indexes.start();
    }

    private void followEnded(String id, SessionState s) {
        Ended now = s != null && s.status() == SessionStatus.ENDED ? new Ended(s.changedAt(), id) : null;
        Ended old = now == null ? endedOf.remove(id) : endedOf.put(id, now);
        if (old != null && !old.equals(now)) {
            endedByTime.remove(old);
        }
        if (now != null) {
            endedByTime.add(now);
        }
    }

    public Optional<SessionState> get(String sessionId) {
        return Optional.ofNullable(sessions.get(sessionId));
    }

    /** The live session of the user with this subject in the pool, if any. */
    public Optional<SessionState> liveSession(String poolId, String subject) {
        String id = userSessions.get(userKey(poolId, subject));
        if (id == null) {
            return Optional.empty();
        }
        return get(id).filter(s -> s.status().live() && s.ownedBy(subject));
    }

    /**
     * Returns the live session of the user with this subject in the pool, creating a QUEUED one (showing
     * {@code user} as its name) if there is none. Racing callers (threads or nodes) all get the same session. A new
     * session has no queue ticket yet: one that finds a ready desktop never needs one, and taking it (one write on a
     * single cluster-wide key per pool, which every request would otherwise queue on) is left to {@link #enqueue}
     * for those that have to wait.
     */
    public SessionState openOrGet(String poolId, String subject, String user, String protocol) {
        return openOrGet(poolId, subject, user, protocol, null);
    }

    /**
     * What a new session may get before it is published: a desktop claimed for its id, so it is written READY at
     * once (one write fewer than QUEUED and then READY). The claim is given back if another request of the same user
     * published its session first.
     */
    public interface FirstClaim {
        /** Claims a desktop for the new session {@code sessionId}; the desktop's id, or null when it must wait. */
        String claim(String sessionId);

        /** Gives back the desktop claimed for a new session that was not published (another one of the user's was). */
        void release(String sessionId, String desktopId);
    }

    /** {@link #openOrGet(String, String, String, String)}, a new session taking a desktop from {@code first}. */
    public SessionState openOrGet(String poolId, String subject, String user, String protocol, FirstClaim first) {
        String key = userKey(poolId, subject);
        while (true) {
            Optional<SessionState> existing = liveSession(poolId, subject);
            if (existing.isPresent()) {
                return existing.get();
            }
            // a live session an older broker opened under the user's name (a rolling upgrade): theirs, bound now.
            // Looked up only when this node's index knows such a session, so a new session costs no extra read; the
            // index follows the cache a moment behind, a window as small as the one between this read and the
            // putIfAbsent below, which the lookup never closed either.
            String byName = legacyByName.get(userKey(poolId, user)).isEmpty() ? null
                    : userSessions.get(userKey(poolId, user));
            Optional<SessionState> bound = byName == null ? Optional.empty()
                    : bindToSubject(byName, subject, user).filter(s -> s.status().live());
            if (bound.isPresent()) {
                return bound.get();
            }
            Instant now = clock.instant();
            // an id whose primary copy is on this node: the session's writes during this request are then one copy
            String id = LocalKeys.fresh(sessions, () -> UUID.randomUUID().toString());
            String desktopId = first == null ? null : first.claim(id);
            SessionState fresh = new SessionState(id, poolId, subject, user,
                    desktopId == null ? SessionStatus.QUEUED : SessionStatus.READY, desktopId, protocol, 0, now, now,
                    now, null, null, 1);
            // write the session before publishing it in the index, so whoever finds the id also finds the session;
            // only if absent: the pool manager fences a claim that waited too long by writing its session id first
            if (sessions.putIfAbsent(fresh.id(), fresh) != null) {
                if (desktopId != null) {
                    first.release(id, desktopId); // already given back by the pool manager: a no-op
                }
                continue;
            }
            String winner = userSessions.putIfAbsent(key, fresh.id());
            if (winner == null) {
                loginHistory.opened(poolId, now); // the arrival predictive pre-warming learns from
                return fresh;
            }
            sessions.remove(fresh.id());
            if (desktopId != null) {
                first.release(id, desktopId);
            }
            SessionState other = sessions.get(winner);
            if (other == null || !other.status().live() || !other.ownedBy(subject)) {
                // a stale index entry from an ended session (or a key an older broker wrote): clear it, try again
                userSessions.remove(key, winner);
            }
        }
    }

    /**
     * Settles a desktop claim made for {@code sessionId} that the session has not taken up after the orphan grace:
     * returns the session if it holds {@code desktopId} by now; otherwise makes sure it never will, and returns empty
     * so the claim can be released. The claimer reads the session, claims, and then writes the session with a
     * conditional replace (or, for a new session, a putIfAbsent); a claimer stalled between the two (a long pause of
     * its JVM) would otherwise write a desktop the pool manager had meanwhile freed and handed to someone else. So the
     * session is written first: a new version of a live session (the claimer's replace then fails and it gives the
     * claim back), or, where none exists, an ENDED placeholder under its id (the claimer's putIfAbsent then fails).
     */
    public Optional<SessionState> fenceClaim(String sessionId, String poolId, String desktopId) {
        while (true) {
            SessionState current = sessions.get(sessionId);
            if (current == null) {
                if (sessions.putIfAbsent(sessionId, SessionState.claimFence(sessionId, poolId, clock.instant()))
                        == null) {
                    return Optional.empty();
                }
            } else if (desktopId.equals(current.desktopId())) {
                return Optional.of(current);
            } else if (!current.status().live() || sessions.replace(sessionId, current, current.fenced())) {
                return Optional.empty(); // an ended session is never written again
            }
        }
    }

    /**
     * Puts a session that has to wait into its pool's queue, behind everyone who has a ticket; returns the session
     * as it is now (unchanged when it is no longer waiting or already queued).
     */
    public SessionState enqueue(SessionState session) {
        if (session.queueTicket() > 0 || !waiting(session)) {
            return session;
        }
        long ticket = counters.next("queue:" + session.poolId());
        return update(session.id(), s -> s.queueTicket() == 0 && waiting(s) ? s.withQueueTicket(ticket) : s)
                .orElse(session);
    }

    /**
     * Sessions of the pool that have no ticket and were created before {@code before}: their request never
     * finished (the node answering it died), so nobody put them into the queue.
     */
    public List<SessionState> strandedArrivals(String poolId, Instant before) {
        List<SessionState> stranded = collect(arrivingByPool.get(poolId));
        stranded.removeIf(s -> s.queueTicket() > 0 || !waiting(s) || !s.createdAt().isBefore(before));
        return stranded;
    }

    /**
     * Whether the {@code user-sessions} index names this session. It does not for a session whose request's node
     * died between writing it and publishing it ({@link #openOrGet}'s two writes): nobody was told its id, and the
     * user's retry got (or will get) the one session the index names, so such a session must never be served.
     */
    public boolean published(SessionState session) {
        return session.id().equals(userSessions.get(userKey(session)));
    }

    /**
     * Whether the session holds its claim of {@code desktopId} for good: it names the desktop, and is ended or
     * published as its user's session. A live session that names it but was never published is not served (see
     * {@link #published}); the pool manager ends it.
     */
    public boolean holdsClaim(SessionState session, String desktopId) {
        return holds(session, desktopId, session.status().live() ? userSessions.get(userKey(session)) : null);
    }

    /**
     * {@link #holdsClaim} for many claims (desktop id by session id), read in two batches, so the pool manager
     * confirms a storm's claims without two reads each: the ids of the sessions that hold theirs. The others go
     * through {@link #fenceClaim} one by one.
     */
    public Set<String> holdingTheirClaims(Map<String, String> desktopBySession) {
        Map<String, SessionState> read = sessions.getAdvancedCache().getAll(desktopBySession.keySet());
        // user-sessions is read only for live sessions that name their desktop: for no other can it change the answer
        Set<String> live = read.values().stream()
                .filter(s -> s.status().live() && holds(s, desktopBySession.get(s.id()), s.id()))
                .map(SessionStore::userKey).collect(java.util.stream.Collectors.toSet());
        Map<String, String> published = live.isEmpty() ? Map.of() : userSessions.getAdvancedCache().getAll(live);
        Set<String> held = new HashSet<>();
        read.values().stream().filter(s -> holds(s, desktopBySession.get(s.id()), published.get(userKey(s))))
                .forEach(s -> held.add(s.id()));
        return held;
    }

    /** The one rule of {@link #holdsClaim}: {@code publishedId} is the session {@code user-sessions} names. */
    private static boolean holds(SessionState session, String desktopId, String publishedId) {
        return desktopId != null && desktopId.equals(session.desktopId())
                && (!session.status().live() || session.id().equals(publishedId));
    }

    /** The pool whose queue the session is in; null when it is not queued. */
    private static String queuedPool(SessionState s) {
        return s.queueTicket() > 0 && waiting(s) ? s.poolId() : null;
    }

    private static boolean waiting(SessionState s) {
        return s.status() == SessionStatus.QUEUED || s.status() == SessionStatus.PROVISIONING;
    }

    /**
     * Binds a session an older broker opened (it has no subject, only the user's name) to the subject of the first
     * caller with that name, as dedicated desktops are bound (security.md, "Who owns what"): once, by a conditional
     * write, so of two identities with the name exactly one gets it. Returns the session if it is now this
     * subject's.
     */
    public Optional<SessionState> bindToSubject(String sessionId, String subject, String user) {
        Optional<SessionState> bound = update(sessionId,
                s -> s.subject() == null && s.user() != null && s.user().equals(user) ? s.withSubject(subject) : s)
                .filter(s -> s.ownedBy(subject));
        bound.filter(s -> s.status().live()).ifPresent(s -> {
            userSessions.putIfAbsent(userKey(s.poolId(), subject), s.id());
            userSessions.remove(userKey(s.poolId(), user), s.id());
        });
        return bound;
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
                    userSessions.remove(userKey(next), sessionId);
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
            userSessions.remove(userKey(next), next.id());
        }
        return won;
    }

    public void remove(SessionState session) {
        sessions.remove(session.id(), session);
    }

    /** The sessions (live and recently ended) of the user with this subject, newest first. */
    public List<SessionState> ofSubject(String subject) {
        return collect(bySubject.get(subject));
    }

    /** Waiting sessions of a pool in queue order, all of them (admins, tests). */
    public List<SessionState> queue(String poolId) {
        List<SessionState> queued = new ArrayList<>();
        queueInOrder(poolId).forEach(queued::add);
        return queued;
    }

    /**
     * Waiting sessions of a pool in queue order, each read from the cache only when the walk reaches it: serving the
     * head of a queue of thousands reads the few it serves, not the queue (the pool manager's tick did, every second).
     */
    public Iterable<SessionState> queueInOrder(String poolId) {
        return () -> queued(queuedByPool.inOrder(poolId)).iterator();
    }

    /**
     * Waiting sessions of a pool whose users last asked about them before {@code before} (the abandoned ones), read
     * from an index ordered by that time: a tick reads only these, however long the queue.
     */
    public List<SessionState> queuedUnseenSince(String poolId, Instant before) {
        return queued(queuedBySeen.inOrderBelow(poolId, before.toEpochMilli()))
                .filter(s -> s.lastSeenAt().isBefore(before)).toList();
    }

    /**
     * The sessions of {@code ids} that are (still) queued, read one at a time as the stream is consumed: the index
     * follows the cache a moment behind, so a session that just left the queue is skipped here.
     */
    private Stream<SessionState> queued(Iterable<String> ids) {
        return StreamSupport.stream(ids.spliterator(), false).map(sessions::get)
                .filter(s -> s != null && queuedPool(s) != null);
    }

    /**
     * How many sessions wait ahead of {@code session} in its pool (lower queue ticket), from this node's index in
     * O(log n) without reading the sessions: what every poll of a queued session asks.
     */
    public int waitingAhead(SessionState session) {
        if (session.queueTicket() == 0) {
            return queuedByPool.size(session.poolId()); // not in the queue yet: everybody in it is ahead
        }
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
        // only those that ended before {@code before}, oldest first: the younger ones are not read at all
        for (Ended e : endedByTime.headSet(new Ended(before, ""))) {
            if (purged >= limit) {
                break;
            }
            SessionState s = sessions.get(e.id());
            if (s != null && s.status() == SessionStatus.ENDED && s.changedAt().isBefore(before)
                    && sessions.remove(e.id(), s)) {
                purged++;
            } else if (!e.equals(endedOf.get(e.id()))) {
                endedByTime.remove(e); // a leftover of a concurrent change: the session moved on or is gone
            }
        }
        return purged;
    }

    /** How many sessions this node knows in the given state. */
    public int countIn(SessionStatus status) {
        return byStatus.size(status.name());
    }

    /**
     * The sessions in these states, found by this node's index (read in one batch), so an admin asking for those
     * waiting reads neither those with a desktop nor the ended ones.
     */
    public List<SessionState> inStates(Collection<SessionStatus> states) {
        Set<String> ids = new HashSet<>();
        states.forEach(status -> ids.addAll(byStatus.get(status.name())));
        return new ArrayList<>(sessions.getAdvancedCache().getAll(ids).values());
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

    private static String userKey(String poolId, String subject) {
        return poolId + '|' + subject;
    }

    /** The index key of a session; one written by a broker older than the subject was keyed by the user name. */
    private static String userKey(SessionState s) {
        return userKey(s.poolId(), s.subject() != null ? s.subject() : s.user());
    }
}
