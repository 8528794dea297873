package org.vdibroker.access;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Optional;
import java.util.UUID;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.protostream.annotations.ProtoField;
import org.infinispan.protostream.annotations.ProtoName;
import org.vdibroker.BrokerConfig;
import org.vdibroker.cluster.CacheNames;

/**
 * Idempotency-Key → session, one cache entry per user holding at most {@code broker.requests.idempotency-keys-per-user}
 * keys (oldest forgotten first): a user sending endless distinct keys grows nothing. Updated by compare-and-set on
 * the whole entry; each stored entry carries a fresh version so a retried compare-and-set during a rebalance cannot
 * mis-match.
 */
@ApplicationScoped
public class IdempotencyKeys {

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    BrokerConfig config;

    private Cache<String, Remembered> cache;

    @PostConstruct
    void init() {
        cache = manager.getCache(CacheNames.IDEMPOTENCY);
    }

    /** The session this user's key was first used for. */
    public Optional<String> sessionOf(String user, String key) {
        Remembered remembered = cache.get(user);
        return remembered == null ? Optional.empty() : Optional.ofNullable(remembered.sessions().get(key));
    }

    /**
     * Remembers the key for the session unless the key is already known; forgets the user's oldest beyond the bound.
     */
    public void remember(String user, String key, String sessionId) {
        int max = Math.max(1, config.requests().idempotencyKeysPerUser());
        for (int attempt = 0; attempt < 20; attempt++) {
            Remembered current = cache.get(user);
            LinkedHashMap<String, String> next = current == null ? new LinkedHashMap<>()
                    : new LinkedHashMap<>(current.sessions());
            if (next.containsKey(key)) {
                return;
            }
            next.put(key, sessionId);
            while (next.size() > max) {
                next.remove(next.keySet().iterator().next());
            }
            Remembered updated = new Remembered(UUID.randomUUID().toString(), next);
            boolean stored = current == null ? cache.putIfAbsent(user, updated) == null
                    : cache.replace(user, current, updated);
            if (stored) {
                return;
            }
        }
        // lost the race 20 times in a row: the key is not remembered, a retry opens or finds the same live session
    }

    /** How many keys are remembered for a user (for tests and metrics). */
    public int count(String user) {
        Remembered remembered = cache.get(user);
        return remembered == null ? 0 : remembered.sessions().size();
    }

    /** A user's remembered keys, in the order they were first used. */
    @ProtoName("RememberedIdempotencyKeys")
    public record Remembered(@ProtoField(number = 1) String version,
            @ProtoField(number = 2, mapImplementation = LinkedHashMap.class) LinkedHashMap<String, String> sessions)
            implements Serializable {
    }
}
