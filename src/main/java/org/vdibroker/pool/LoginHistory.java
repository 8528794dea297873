package org.vdibroker.pool;

import io.quarkus.scheduler.Scheduled;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.protostream.annotations.ProtoFactory;
import org.infinispan.protostream.annotations.ProtoName;
import org.infinispan.util.function.SerializableBiFunction;
import org.jboss.logging.Logger;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.KeyOwnership;
import org.vdibroker.persistence.Database;

/**
 * Counts the sessions users open per pool and 15-minute slot, for predictive pre-warming.
 *
 * <p>Counting happens in the cluster ({@code login-counts} cache, pool|slot -> count): every node's requests add to
 * the same entry with one asynchronous merge, so a request neither waits for nor fails on it. The node that manages
 * a pool (primary owner of its key) copies the counts of recently ended slots into the database every minute; the
 * forecast reads past weeks from there, so the history survives a restart of the whole cluster. Cache entries live
 * a day, database rows {@value ArrivalForecast#WEEKS} weeks and one more.
 */
@ApplicationScoped
public class LoginHistory implements LoginCounts {

    private static final Logger LOG = Logger.getLogger(LoginHistory.class);
    private static final long LIVE_HOURS = 24;
    /** Ended slots copied again on each run: late merges and a change of the managing node are covered. */
    private static final Duration RECOPY = Duration.ofHours(2);
    private static final Duration KEEP = Duration.ofDays(7L * (ArrivalForecast.WEEKS + 1));

    @Inject
    EmbeddedCacheManager manager;
    @Inject
    Database database;
    @Inject
    PoolCatalog catalog;
    @Inject
    KeyOwnership ownership;

    private Cache<String, Integer> live;
    /** What this node last wrote per pool|slot, so unchanged counts are not written again. */
    private final Map<String, Integer> written = new ConcurrentHashMap<>();
    private volatile Instant lastPurge = Instant.EPOCH;

    @PostConstruct
    void init() {
        live = manager.getCache(CacheNames.LOGIN_COUNTS);
    }

    /** A user's request opened a session in the pool. */
    public void opened(String poolId, Instant at) {
        try {
            live.mergeAsync(key(poolId, LoginCounts.slotStart(at)), 1, Sum.INSTANCE, LIVE_HOURS, TimeUnit.HOURS)
                    .exceptionally(e -> {
                        LOG.debugf("Login of pool %s not counted: %s", poolId, e.getMessage());
                        return null;
                    });
        } catch (RuntimeException e) {
            LOG.debugf("Login of pool %s not counted: %s", poolId, e.getMessage());
        }
    }

    @Override
    @Transactional
    public Map<Instant, Integer> arrivals(String poolId, Instant from, Instant to) {
        Map<Instant, Integer> result = new HashMap<>();
        database.session().createSelectionQuery(
                "from LoginCountEntity where poolId = :pool and slotStart >= :from and slotStart < :to",
                LoginCountEntity.class).setParameter("pool", poolId).setParameter("from", from)
                .setParameter("to", to).getResultList().forEach(c -> result.put(c.slotStart, c.arrivals));
        return result;
    }

    @Scheduled(every = "60s", delayed = "10s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void persist() {
        persist(Instant.now());
    }

    /** Copies the counts of the slots ended before {@code now} that changed since this node last wrote them. */
    void persist(Instant now) {
        Map<String, LoginCountEntity> changed = new HashMap<>();
        try {
            for (Pool pool : catalog.all()) {
                if (!ownership.isPrimaryOwner(pool.id())) {
                    continue;
                }
                Instant current = LoginCounts.slotStart(now);
                for (Instant slot = LoginCounts.slotStart(now.minus(RECOPY)); slot.isBefore(current);
                        slot = slot.plus(SLOT)) {
                    String key = key(pool.id(), slot);
                    Integer count = live.get(key);
                    if (count != null && !count.equals(written.get(key))) {
                        LoginCountEntity e = new LoginCountEntity();
                        e.poolId = pool.id();
                        e.slotStart = slot;
                        e.arrivals = count;
                        changed.put(key, e);
                    }
                }
            }
            if (!changed.isEmpty()) {
                write(changed.values());
                changed.forEach((key, e) -> written.put(key, e.arrivals));
            }
            if (lastPurge.isBefore(now.minus(Duration.ofHours(1)))) {
                purge(now.minus(KEEP));
                lastPurge = now;
            }
            Instant forgetBefore = now.minus(RECOPY).minus(SLOT);
            written.keySet().removeIf(k -> slotOf(k).isBefore(forgetBefore));
        } catch (RuntimeException e) {
            LOG.infof("Login history not saved yet (database or cluster unavailable?): %s", e.getMessage());
        }
    }

    @Transactional
    void write(Iterable<LoginCountEntity> counts) {
        for (LoginCountEntity c : counts) {
            database.session().merge(c);
        }
    }

    @Transactional
    void purge(Instant before) {
        database.session().createMutationQuery("delete from LoginCountEntity where slotStart < :before")
                .setParameter("before", before).executeUpdate();
    }

    private static String key(String poolId, Instant slot) {
        return poolId + '|' + slot.getEpochSecond();
    }

    private static Instant slotOf(String key) {
        return Instant.ofEpochSecond(Long.parseLong(key.substring(key.lastIndexOf('|') + 1)));
    }

    /** Adds counts; a named class, since the cluster ships the function to the entry's owner. */
    @ProtoName("LoginCountSum")
    public static final class Sum implements SerializableBiFunction<Integer, Integer, Integer> {
        static final Sum INSTANCE = new Sum();

        /** Read from ProtoStream (a message without fields). */
        @ProtoFactory
        static Sum instance() {
            return INSTANCE;
        }
        private static final long serialVersionUID = 1L;

        @Override
        public Integer apply(Integer a, Integer b) {
            return a + b;
        }
    }
}
