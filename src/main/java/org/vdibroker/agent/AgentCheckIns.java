package org.vdibroker.agent;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.desktop.DesktopState;

/**
 * When each desktop's agent last checked in, and with which of the desktop's secrets (cache {@code agent-check-ins}):
 * a desktop whose agent has not checked in with its current secret may be one whose new secret never reached the
 * guest. Also counts the refreshes a desktop got for that ({@code id|silent}), until its agent checks in.
 *
 * <p>Cheap on both sides: an agent's events write at most once a minute per desktop and secret (heartbeats rarely
 * write), and a desktop found checked in is not read again until its state changes.
 */
@ApplicationScoped
public class AgentCheckIns {

    private static final Logger LOG = Logger.getLogger(AgentCheckIns.class);
    /** Entries of desktops nobody hears from any more (deleted ones) go after this. */
    static final Duration KEPT = Duration.ofDays(30);
    /** An agent's events write again after this: the record says when it last checked in, to within this. */
    static final Duration REWRITE_AFTER = Duration.ofMinutes(1);
    /** This node's memos are dropped (and rebuilt from the cache) beyond this many desktops. */
    private static final int MEMO_LIMIT = 50_000;

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    AgentEventService events;

    Clock clock = Clock.systemUTC();

    private volatile Cache<String, Object> cache;
    /** desktop id -> what this node last wrote for it. */
    private final Map<String, AgentCheckIn> written = new ConcurrentHashMap<>();
    /** desktop id -> the state version at which its agent was found checked in with the current secret. */
    private final Map<String, Long> verified = new ConcurrentHashMap<>();

    private Cache<String, Object> cache() {
        Cache<String, Object> c = cache;
        if (c == null) {
            c = manager.getCache(CacheNames.AGENT_CHECK_INS);
            cache = c;
        }
        return c;
    }

    /** The agent of {@code desktop} sent an event authenticated with the secret whose hash is {@code hash}. */
    void checkedIn(DesktopState desktop, String hash) {
        Instant now = clock.instant();
        AgentCheckIn last = written.get(desktop.id());
        String secretId = secretId(hash);
        if (last != null && last.secretId().equals(secretId) && last.at().plus(REWRITE_AFTER).isAfter(now)) {
            return;
        }
        AgentCheckIn checkIn = new AgentCheckIn(secretId, now);
        try {
            cache().put(desktop.id(), checkIn, KEPT.toMillis(), TimeUnit.MILLISECONDS);
            bounded(written).put(desktop.id(), checkIn);
        } catch (RuntimeException e) { // the event itself was handled; the next one records the check-in
            LOG.debugf("Check-in of desktop %s not recorded: %s", desktop.id(), e.getMessage());
        }
    }

    /**
     * Of {@code desktops}, those whose agent has not checked in with the desktop's current secret, each with the
     * refreshes it already got for that; at most {@code most} desktops not yet known to be checked in are looked up
     * (one read of the cache for all). A desktop whose check-in cannot be judged now (its secret unknown while the
     * database is down) is left out.
     */
    public Map<DesktopState, Integer> silent(List<DesktopState> desktops, int most) {
        List<DesktopState> unknown = desktops.stream().filter(d -> !checkedIn(d)).limit(most).toList();
        if (unknown.isEmpty()) {
            return Map.of();
        }
        Set<String> keys = new HashSet<>();
        unknown.forEach(d -> {
            keys.add(d.id());
            keys.add(silentKey(d.id()));
        });
        Map<String, Object> found = cache().getAdvancedCache().getAll(keys);
        Map<DesktopState, Integer> silent = new HashMap<>();
        for (DesktopState d : unknown) {
            Integer refreshes = (Integer) found.get(silentKey(d.id()));
            if (!(found.get(d.id()) instanceof AgentCheckIn checkIn)) {
                silent.put(d, refreshes == null ? 0 : refreshes);
                continue;
            }
            String hash = events.currentHash(d);
            if (hash == null) {
                continue; // cannot tell now
            }
            if (checkIn.secretId().equals(secretId(hash))) {
                bounded(verified).put(d.id(), d.version());
                if (refreshes != null) {
                    cache().remove(silentKey(d.id()));
                }
            } else {
                silent.put(d, refreshes == null ? 0 : refreshes);
            }
        }
        return silent;
    }

    /** Whether this node found the desktop's agent checked in with the secret of the desktop's current state. */
    public boolean checkedIn(DesktopState desktop) {
        return Long.valueOf(desktop.version()).equals(verified.get(desktop.id()));
    }

    /** The desktop was refreshed for the {@code refreshes}-th time in a row because its agent did not check in. */
    public void refreshedForSilence(String desktopId, int refreshes) {
        cache().put(silentKey(desktopId), refreshes, KEPT.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static String silentKey(String desktopId) {
        return desktopId + "|silent";
    }

    /** Enough of the hash to tell the desktop's secrets apart; the stored hash itself stays in the inventory. */
    private static String secretId(String hash) {
        return hash.substring(0, Math.min(16, hash.length()));
    }

    private static <V> Map<String, V> bounded(Map<String, V> memo) {
        if (memo.size() >= MEMO_LIMIT) {
            memo.clear();
        }
        return memo;
    }
}
