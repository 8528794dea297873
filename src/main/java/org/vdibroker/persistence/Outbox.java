package org.vdibroker.persistence;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.faulttolerance.api.ApplyGuard;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Any;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.io.Serializable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.hibernate.Session;
import org.infinispan.Cache;
import org.infinispan.commons.util.CloseableIterator;
import org.infinispan.context.Flag;
import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.KeyOwnership;
import org.vdibroker.cluster.LocalKeys;
import org.vdibroker.cluster.PeerStoppingRetry;

/**
 * Database writes that must not wait for the database, nor be lost: audit events and desktop inventory changes are
 * put into the cluster's {@code outbox} cache (two copies, so a node's death loses none) and written from there in
 * batches. Each entry is written by the primary owner of its key, so the work spreads over the nodes and moves when
 * nodes leave. An entry leaves the outbox only after its transaction committed, and only if it did not change
 * meanwhile; writers are idempotent, so writing an entry twice is harmless. While the database is down, entries
 * wait and brokering goes on; they are written when it answers again. Each node also keeps the entries it holds
 * on its disk ({@link OutboxJournal}), so they survive a stop of every node. An entry the database refuses (while it
 * answers) {@code broker.outbox.park-after} times in a row is parked: no longer retried, listed for an admin, who
 * may discard it.
 */
@ApplicationScoped
public class Outbox {

    private static final Logger LOG = Logger.getLogger(Outbox.class);
    static final int BATCH = 500;
    /** Bounded work per tick: what is beyond waits for the next one. */
    private static final int MAX_PER_TICK = 20 * BATCH;
    /** While nothing waits, whether the database answers is checked this often, for the readiness details. */
    private static final Duration PROBE_INTERVAL = Duration.ofSeconds(5);

    @Inject
    EmbeddedCacheManager manager;
    @Inject
    KeyOwnership ownership;
    @Inject
    Database database;
    @Inject
    @Any
    Instance<OutboxWriter<?>> writerBeans;
    @Inject
    MeterRegistry meters;
    @Inject
    BrokerConfig config;

    Clock clock = Clock.systemUTC();

    private volatile Cache<String, Serializable> cache;
    private volatile Map<Class<?>, OutboxWriter<?>> writers;
    private volatile boolean databaseAnswers = true;
    private volatile Instant checkedAt = Instant.MIN;
    private volatile int pending;
    private volatile int parked;
    private volatile Cache<String, OutboxFailure> failures;
    private volatile OutboxJournal journal;
    private volatile boolean stopped;

    void onStart(@Observes StartupEvent event) {
        Gauge.builder("vdi.outbox.pending", this, Outbox::pending)
                .description("database writes this node is to make that wait in the outbox").register(meters);
        Gauge.builder("vdi.outbox.parked", this, Outbox::parked)
                .description("outbox entries of this node the database refused too often, waiting for an admin")
                .register(meters);
        journal = new OutboxJournal(cache(), manager.getCache(CacheNames.OUTBOX_JOURNAL),
                String.valueOf(manager.getAddress() == null ? "local" : manager.getAddress()));
        Gauge.builder("vdi.outbox.journal.lag", this, o -> o.journal.lag().toNanos() / 1e9)
                .description("how long the oldest outbox change not yet on this node's disk has waited, in seconds")
                .baseUnit("seconds").register(meters);
    }

    /**
     * A new key from {@code generator} whose primary copy is on this node: an entry added under it costs one copy to
     * its backup instead of two hops, and this node writes it to the database.
     */
    public String localKey(Supplier<String> generator) {
        return LocalKeys.fresh(cache(), generator);
    }

    /**
     * Adds an entry under a key that names it alone (e.g. an audit event's id). Put again, under the same key, when a
     * node that held a copy was shutting down (it refuses writes until it has left the view, a moment later): the
     * caller's own retry would not know the entry was never written (a desktop request asked again finds its session
     * and writes no second audit entry), and putting the same entry twice is harmless.
     */
    @ApplyGuard(PeerStoppingRetry.NAME)
    public void add(String key, Serializable entry) {
        cache().put(key, entry);
    }

    /**
     * Folds a change into the entry waiting under {@code key} ({@code null} when none waits) with a conditional
     * write, so concurrent changes of one thing, from any node, are all kept and keep their order.
     */
    public <T extends Serializable> void fold(String key, Class<T> type, UnaryOperator<T> change) {
        Cache<String, Serializable> c = cache();
        while (true) {
            T current = type.cast(c.get(key));
            T next = change.apply(current);
            if (current == null ? c.putIfAbsent(key, next) == null : c.replace(key, current, next)) {
                return;
            }
        }
    }

    /** What waits under {@code key}, if anything. */
    public <T extends Serializable> Optional<T> waiting(String key, Class<T> type) {
        return Optional.ofNullable(cache().get(key)).map(type::cast);
    }

    /**
     * Entries this node is to write that still wait (as of its last round), parked ones not counted; the cluster's
     * total is the sum.
     */
    public int pending() {
        return pending;
    }

    /** Parked entries this node is to write (as of its last round); the cluster's total is the sum. */
    public int parked() {
        return parked;
    }

    /**
     * Up to {@code limit} entries waiting in the whole cluster, those the database refused first (parked ones
     * first of all), then the others.
     */
    public List<OutboxEntryRepresentation> list(int limit) {
        Map<String, OutboxFailure> refused = new HashMap<>(failures());
        List<OutboxEntryRepresentation> listed = new ArrayList<>();
        refused.entrySet().stream()
                .sorted(Map.Entry.<String, OutboxFailure>comparingByValue(
                        java.util.Comparator.comparing(OutboxFailure::parked).reversed()))
                .forEach(f -> {
                    Serializable value = cache().get(f.getKey());
                    if (value != null && listed.size() < limit) {
                        OutboxFailure x = f.getValue();
                        listed.add(new OutboxEntryRepresentation(f.getKey(), kind(value), x.attempts(),
                                x.lastError(), x.lastAttemptAt(), x.parked()));
                    }
                });
        try (CloseableIterator<Map.Entry<String, Serializable>> entries = cache().entrySet().iterator()) {
            while (entries.hasNext() && listed.size() < limit) {
                Map.Entry<String, Serializable> e = entries.next();
                if (!refused.containsKey(e.getKey())) {
                    listed.add(new OutboxEntryRepresentation(e.getKey(), kind(e.getValue()), 0, null, null, false));
                }
            }
        }
        return listed;
    }

    /** Drops a waiting entry without writing it; false if none waits under {@code id}. */
    public boolean discard(String id) {
        Serializable removed = cache().remove(id);
        failures().remove(id);
        if (removed != null) {
            LOG.warnf("Outbox entry %s (%s) discarded by an admin", id, kind(removed));
        }
        return removed != null;
    }

    private static String kind(Serializable value) {
        return value.getClass().getSimpleName();
    }

    /** UP, or DEGRADED while the database does not answer (entries wait, brokering goes on). */
    public String databaseState() {
        return databaseAnswers ? "UP" : "DEGRADED";
    }

    @Scheduled(every = "1s", delayed = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void tick() {
        if (stopped) {
            return;
        }
        try {
            if (journal != null) {
                if (journal.replayed()) {
                    journal.reconcile();
                } else {
                    journal.replayOnce();
                }
            }
        } catch (RuntimeException e) {
            LOG.warnf("Outbox journal not brought up to date, next round: %s", e.getMessage());
        }
        try {
            flush();
        } catch (RuntimeException e) {
            LOG.warnf("Outbox round failed, the entries wait: %s", e.getMessage());
        }
    }

    /**
     * Last round before the cache manager stops; a clustered node's entries are also kept by the other owners. Then
     * the journal writes what it noted, so what waits is on this node's disk when the cache manager stops.
     */
    void onStop(@Observes @Priority(2) ShutdownEvent event) {
        try {
            flush();
        } catch (RuntimeException e) {
            LOG.warnf("Outbox not written before shutdown (%d entries of this node wait): %s", pending,
                    e.getMessage());
        }
        stopped = true;
        if (journal != null) {
            journal.close();
        }
    }

    /**
     * Writes the entries this node is responsible for, in batches, until none is left or the database fails.
     * Synchronized so a read that flushes first (the audit page) and the scheduler do not write the same entries.
     */
    public synchronized void flush() {
        List<Map.Entry<String, Serializable>> mine = new ArrayList<>();
        int total = collectMine(mine);
        if (mine.isEmpty()) {
            pending = 0;
            if (checkedAt.isBefore(clock.instant().minus(PROBE_INTERVAL))) {
                answered(databaseAnswers());
            }
            return;
        }
        if (!databaseAnswers && !databaseAnswers()) {
            answered(false); // still down: one probe per round rather than a failing batch
            pending = total;
            return;
        }
        int written = 0;
        for (int from = 0; from < mine.size(); from += BATCH) {
            List<Map.Entry<String, Serializable>> batch = mine.subList(from, Math.min(mine.size(), from + BATCH));
            written += writeBatch(batch);
            if (!databaseAnswers) {
                break; // the rest waits for the next round
            }
        }
        pending = total - written;
    }

    /** Adds up to MAX_PER_TICK entries this node writes to {@code mine}; returns how many it writes in all. */
    private int collectMine(List<Map.Entry<String, Serializable>> mine) {
        Cache<String, Serializable> c = cache();
        Predicate<Object> isMine = ownership.primaryOwnerTest(c);
        Map<String, OutboxFailure> refused = new HashMap<>(failures().getAdvancedCache()
                .withFlags(Flag.CACHE_MODE_LOCAL));
        int total = 0;
        int parkedNow = 0;
        try (CloseableIterator<Map.Entry<String, Serializable>> entries = c.getAdvancedCache()
                .withFlags(Flag.CACHE_MODE_LOCAL).entrySet().iterator()) {
            while (entries.hasNext()) {
                Map.Entry<String, Serializable> e = entries.next();
                if (isMine.test(e.getKey())) {
                    OutboxFailure failure = refused.get(e.getKey());
                    if (failure != null && failure.parked()) {
                        parkedNow++;
                        continue; // waits for an admin, not retried every round
                    }
                    total++;
                    if (mine.size() < MAX_PER_TICK) {
                        mine.add(Map.entry(e.getKey(), e.getValue()));
                    }
                }
            }
        }
        parked = parkedNow;
        return total;
    }

    /**
     * Writes one batch in one transaction. If that fails while the database answers, an entry of the batch is at
     * fault, so the entries are written one by one and those that fail stay (logged) without holding up the others.
     * Returns how many were written.
     */
    private int writeBatch(List<Map.Entry<String, Serializable>> batch) {
        try {
            write(batch);
        } catch (RuntimeException e) {
            if (!databaseAnswers()) {
                answered(false);
                return 0;
            }
            int written = 0;
            for (Map.Entry<String, Serializable> entry : batch) {
                try {
                    write(List.of(entry));
                    removeWritten(List.of(entry));
                    written++;
                } catch (RuntimeException one) {
                    refused(entry.getKey(), one);
                }
            }
            answered(true);
            return written;
        }
        removeWritten(batch);
        answered(true);
        return batch.size();
    }

    /** Counts a refusal of the entry under {@code key}; parks it after {@code broker.outbox.park-after} in a row. */
    private void refused(String key, RuntimeException error) {
        String message = rootMessage(error);
        int parkAfter = Math.max(1, config.outbox().parkAfter());
        Cache<String, OutboxFailure> f = failures();
        OutboxFailure failure;
        while (true) { // a conditional write rather than compute(), whose function would travel to the owners
            OutboxFailure before = f.get(key);
            failure = before == null ? OutboxFailure.first(message, clock.instant(), parkAfter)
                    : before.refusedAgain(message, clock.instant(), parkAfter);
            if (before == null ? f.putIfAbsent(key, failure) == null : f.replace(key, before, failure)) {
                break;
            }
        }
        if (failure.parked()) {
            LOG.errorf("Outbox entry %s refused %d times in a row, parked until an admin discards it: %s", key,
                    failure.attempts(), message);
        } else {
            LOG.warnf("Outbox entry %s refused (%d of %d), it stays in the outbox: %s", key, failure.attempts(),
                    parkAfter, message);
        }
    }

    /** The innermost cause's message (the database's own words), shortened. */
    private static String rootMessage(Throwable error) {
        Throwable t = error;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return message.length() > 500 ? message.substring(0, 500) + "…" : message;
    }

    private void write(List<Map.Entry<String, Serializable>> entries) {
        Map<Class<?>, List<Serializable>> byType = new LinkedHashMap<>();
        for (Map.Entry<String, Serializable> e : entries) {
            byType.computeIfAbsent(e.getValue().getClass(), t -> new ArrayList<>()).add(e.getValue());
        }
        QuarkusTransaction.requiringNew().run(() -> {
            Session session = database.session();
            byType.forEach((type, values) -> writerFor(type).write(session, values));
        });
    }

    /** An entry leaves only if it is still what was written; if it changed meanwhile, the newer value waits. */
    private void removeWritten(List<Map.Entry<String, Serializable>> written) {
        Cache<String, Serializable> c = cache();
        CompletableFuture<?>[] removals = written.stream().map(e -> c.removeAsync(e.getKey(), e.getValue()))
                .toArray(CompletableFuture[]::new);
        CompletableFuture.allOf(removals).join();
        Cache<String, OutboxFailure> f = failures();
        if (!f.isEmpty()) {
            written.forEach(e -> f.remove(e.getKey()));
        }
    }

    private boolean databaseAnswers() {
        try {
            QuarkusTransaction.requiringNew().run(() -> database.session().createNativeQuery("select 1", Integer.class)
                    .getSingleResult());
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private void answered(boolean answers) {
        checkedAt = clock.instant();
        if (answers != databaseAnswers) {
            if (answers) {
                LOG.infof("The database answers again: the outbox is being written");
            } else {
                LOG.warnf("The database does not answer: audit events and inventory changes wait in the outbox");
            }
        }
        databaseAnswers = answers;
    }

    @SuppressWarnings("unchecked")
    private <T extends Serializable> OutboxWriter<T> writerFor(Class<?> type) {
        Map<Class<?>, OutboxWriter<?>> w = writers;
        if (w == null) {
            w = new HashMap<>();
            for (OutboxWriter<?> writer : writerBeans) {
                w.put(writer.type(), writer);
            }
            writers = w;
        }
        OutboxWriter<?> writer = w.get(type);
        if (writer == null) {
            throw new IllegalStateException("no outbox writer for " + type.getName());
        }
        return (OutboxWriter<T>) writer;
    }

    private Cache<String, OutboxFailure> failures() {
        Cache<String, OutboxFailure> f = failures;
        if (f == null) {
            f = manager.getCache(CacheNames.OUTBOX_FAILURES);
            failures = f;
        }
        return f;
    }

    private Cache<String, Serializable> cache() {
        Cache<String, Serializable> c = cache;
        if (c == null) {
            c = manager.getCache(CacheNames.OUTBOX);
            cache = c;
        }
        return c;
    }
}
