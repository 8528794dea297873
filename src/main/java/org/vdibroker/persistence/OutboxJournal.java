package org.vdibroker.persistence;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
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
 * of every node. A synchronous listener copies each change of the clustered outbox into the local, file-backed
 * journal cache before the write is acknowledged; each round also reconciles the two (entries this node received by
 * state transfer, or lost with a segment). After a restart the journal is replayed into the outbox; writers are
 * idempotent and order-independent, so an entry replayed after it was already written does no harm.
 */
@Listener(sync = true, observation = Listener.Observation.POST)
final class OutboxJournal {

    private static final Logger LOG = Logger.getLogger(OutboxJournal.class);
    /** Marks a replayed entry whose key already holds a different value in the cluster: both are written. */
    static final String REPLAYED = "#replayed-";

    private final Cache<String, Serializable> outbox;
    private final Cache<String, Serializable> journal;
    private final String nodeName;
    private volatile boolean replayed;

    OutboxJournal(Cache<String, Serializable> outbox, Cache<String, Serializable> journal, String nodeName) {
        this.outbox = outbox;
        this.journal = journal;
        this.nodeName = nodeName;
        outbox.addListener(this);
    }

    @CacheEntryCreated
    @CacheEntryModified
    public void changed(CacheEntryEvent<String, Serializable> event) {
        if (event.getValue() != null) {
            journal.put(event.getKey(), event.getValue());
        }
    }

    @CacheEntryRemoved
    public void removed(CacheEntryRemovedEvent<String, Serializable> event) {
        journal.remove(event.getKey());
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

    /** Makes the journal hold exactly what this node holds of the outbox now. */
    void reconcile() {
        Cache<String, Serializable> local = outbox.getAdvancedCache().withFlags(Flag.CACHE_MODE_LOCAL);
        Map<String, Serializable> held = new HashMap<>(local);
        for (Map.Entry<String, Serializable> e : new HashMap<>(journal).entrySet()) {
            if (!held.containsKey(e.getKey())) {
                journal.remove(e.getKey(), e.getValue()); // not if it changed meanwhile
            }
        }
        held.forEach((key, value) -> {
            if (!Objects.equals(journal.get(key), value)) {
                journal.put(key, value);
            }
        });
    }
}
