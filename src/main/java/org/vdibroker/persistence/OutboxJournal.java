package org.vdibroker.persistence;

import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.infinispan.AdvancedCache;
import org.infinispan.Cache;
import org.infinispan.context.Flag;
import org.infinispan.notifications.Listener;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryCreated;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryModified;
import org.infinispan.notifications.cachelistener.annotation.CacheEntryRemoved;
import org.infinispan.notifications.cachelistener.event.CacheEntryEvent;
import org.infinispan.notifications.cachelistener.event.CacheEntryRemovedEvent;
import org.jboss.logging.Logger;

/**
 * This node's copy on disk of the outbox entries it holds (as primary or backup owner), so that they survive a stop
 * of every node. A synchronous listener only notes each change of the clustered outbox (the key and its newest value,
 * or that it was removed) and returns: it runs on Infinispan's threads while the entry's lock is held, so it must not
 * wait for the disk. One thread of its own writes the noted changes to the local, file-backed journal cache, and also
 * reconciles the two every round (entries this node received by state transfer, or lost with a segment). Since one
 * thread does every journal write and a key's newest change replaces an older one not yet written, a put followed by
 * a remove of the same key can never be written in the other order.
 *
 * <p>The price is a short window: a change is on disk a moment after the outbox write returned (the time the journal
 * thread needs to reach it: under a millisecond usually, tens of milliseconds on a loaded machine, see {@link #lag()}).
 * A graceful stop ({@link #close()}) writes every noted change first; a {@code kill -9} loses the changes of that last
 * moment on that node, while the entry's other owner has its own copy. After a restart the journal is replayed into the
 * outbox; writers are idempotent and order-independent, so an entry replayed after it was already written does no harm.
 */
@Listener(sync = true, observation = Listener.Observation.POST)
final class OutboxJournal implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(OutboxJournal.class);
    /** Marks a replayed entry whose key already holds a different value in the cluster: both are written. */
    static final String REPLAYED = "#replayed-";
    /** Noted instead of a value: the entry left the outbox. */
    private static final Object REMOVED = new Object();
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(10);

    private final Cache<String, Serializable> outbox;
    private final Cache<String, Serializable> journal;
    /**
     * The journal for puts, which never need the old value: no read of the store first. Not for removes: a remove
     * that skips the read finds no entry when it is only on disk (after a restart) and leaves it there.
     */
    private final AdvancedCache<String, Serializable> journalWrites;
    private final String nodeName;
    private final ExecutorService writer;
    /** Changes noted but not yet written, newest per key: a value, or {@link #REMOVED}. */
    private final Map<String, Object> unwritten = new ConcurrentHashMap<>();
    private final AtomicBoolean drainQueued = new AtomicBoolean();
    private final AtomicBoolean reconcileQueued = new AtomicBoolean();
    /** When the oldest change not yet written was noted (nanoTime), 0 if none waits. */
    private volatile long oldestUnwrittenAt;
    private volatile boolean replayed;

    OutboxJournal(Cache<String, Serializable> outbox, Cache<String, Serializable> journal, String nodeName) {
        this(outbox, journal, nodeName, Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "outbox-journal");
            t.setDaemon(true);
            return t;
        }));
    }

    /** {@code writer} must run one task at a time, in order: it is the only one to write the journal. */
    OutboxJournal(Cache<String, Serializable> outbox, Cache<String, Serializable> journal, String nodeName,
            ExecutorService writer) {
        this.outbox = outbox;
        this.journal = journal;
        this.journalWrites = journal.getAdvancedCache().withFlags(Flag.IGNORE_RETURN_VALUES);
        this.nodeName = nodeName;
        this.writer = writer;
        outbox.addListener(this);
    }

    @CacheEntryCreated
    @CacheEntryModified
    public void changed(CacheEntryEvent<String, Serializable> event) {
        if (event.getValue() != null) {
            note(event.getKey(), event.getValue());
        }
    }

    @CacheEntryRemoved
    public void removed(CacheEntryRemovedEvent<String, Serializable> event) {
        note(event.getKey(), REMOVED);
    }

    /** On the caller's (Infinispan's) thread: remember the change, make sure the journal thread will write it. */
    private void note(String key, Object change) {
        if (unwritten.put(key, change) == null && oldestUnwrittenAt == 0) {
            oldestUnwrittenAt = System.nanoTime();
        }
        if (drainQueued.compareAndSet(false, true)) {
            try {
                writer.execute(this::drain);
            } catch (RejectedExecutionException closed) {
                // the node is stopping and the journal was closed: what other owners hold is on their disks
                LOG.debugf("Outbox journal closed, change of %s not written", key);
            }
        }
    }

    /** On the journal thread: writes every noted change, each key's newest only. */
    private void drain() {
        drainQueued.set(false); // a change noted from now on queues another drain
        oldestUnwrittenAt = 0;
        List<CompletableFuture<?>> writes = new ArrayList<>();
        for (String key : unwritten.keySet()) {
            Object change = unwritten.remove(key);
            if (change == REMOVED) {
                writes.add(journal.removeAsync(key)); // loads first: see journalWrites
            } else if (change != null) {
                writes.add(journalWrites.putAsync(key, (Serializable) change));
            }
        }
        try {
            // each key once per drain, and the next drain only after this one: a key's writes stay in order
            CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
        } catch (RuntimeException e) {
            LOG.warnf("Outbox journal not written (the next reconcile tries again): %s", e.getMessage());
        }
    }

    /** How long the oldest change not yet on disk has waited; zero when the journal is up to date. */
    Duration lag() {
        long at = oldestUnwrittenAt;
        return at == 0 ? Duration.ZERO : Duration.ofNanos(System.nanoTime() - at);
    }

    /**
     * Puts what the journal held before this node started back into the outbox, once; retried next round if the
     * cluster refuses writes yet. Returns how many entries were put back.
     */
    int replayOnce() {
        if (replayed) {
            return 0;
        }
        Map<String, Serializable> before = new HashMap<>(journal);
        int put = 0;
        for (Map.Entry<String, Serializable> e : before.entrySet()) {
            Serializable existing = outbox.putIfAbsent(e.getKey(), e.getValue());
            if (existing == null) {
                put++;
            } else if (!existing.equals(e.getValue()) && !e.getKey().contains(REPLAYED)) {
                // another node's copy differs (one of us missed a change): keep both, the writers take either order
                if (outbox.putIfAbsent(e.getKey() + REPLAYED + nodeName, e.getValue()) == null) {
                    put++;
                }
            }
        }
        replayed = true;
        if (!before.isEmpty()) {
            LOG.infof("Outbox journal: %d entries kept on disk, %d of them put back into the outbox", before.size(),
                    put);
        }
        reconcile();
        return put;
    }

    boolean replayed() {
        return replayed;
    }

    /** Asks the journal thread to make the journal hold exactly what this node holds of the outbox now. */
    void reconcile() {
        if (reconcileQueued.compareAndSet(false, true)) {
            try {
                writer.execute(this::reconcileNow);
            } catch (RejectedExecutionException closed) {
                reconcileQueued.set(false);
            }
        }
    }

    /**
     * On the journal thread. A change noted while this runs is written by a drain after it, so the newest state
     * wins even when this read an older one.
     */
    private void reconcileNow() {
        reconcileQueued.set(false);
        try {
            Cache<String, Serializable> local = outbox.getAdvancedCache().withFlags(Flag.CACHE_MODE_LOCAL);
            Map<String, Serializable> held = new HashMap<>(local);
            for (String key : new ArrayList<>(journal.keySet())) {
                if (!held.containsKey(key)) {
                    journal.remove(key);
                }
            }
            held.forEach((key, value) -> {
                if (!Objects.equals(journal.get(key), value)) {
                    journalWrites.put(key, value);
                }
            });
        } catch (RuntimeException e) {
            LOG.warnf("Outbox journal not reconciled, next round: %s", e.getMessage());
        }
    }

    /** Waits until every change noted so far is written (tests; and {@link #close()}). */
    void awaitWritten(Duration timeout) throws InterruptedException {
        CompletableFuture<Void> done = new CompletableFuture<>();
        writer.execute(() -> done.complete(null));
        try {
            done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("outbox journal not written within " + timeout, e);
        }
    }

    /**
     * Writes every change noted so far, then stops the journal thread; called on a graceful stop before the cache
     * manager stops, so nothing accepted before it is missing from the disk.
     */
    @Override
    public void close() {
        if (writer.isShutdown()) {
            return;
        }
        try {
            outbox.removeListener(this);
            writer.execute(this::drain); // after any queued drain: whatever was noted up to now
        } catch (RuntimeException e) {
            LOG.warnf("Outbox journal: last changes not written on stop: %s", e.getMessage());
        }
        writer.shutdown();
        try {
            if (!writer.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warnf("Outbox journal not written within %s on stop (%d changes): the other owners keep them",
                        CLOSE_WAIT, unwritten.size());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
