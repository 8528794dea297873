package org.vdibroker.cluster;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.infinispan.Cache;
import org.infinispan.protostream.WrappedMessage;
import org.infinispan.protostream.annotations.ProtoFactory;
import org.infinispan.protostream.annotations.ProtoField;
import org.infinispan.protostream.annotations.ProtoName;
import org.jboss.logging.Logger;

/**
 * Admin definitions (hypervisors, pools with their templates and entitlements) copied from the database into a
 * replicated cache, so that every node, also one that starts while the database is down, can serve them. The
 * database stays the record: entries are only ever published from what was just read from it.
 */
public final class DefinitionCache<V extends Serializable> {

    /** A definition with the database version it was read at, so a node with an older read does not win. */
    @ProtoName("VersionedDefinition")
    public record Versioned<V extends Serializable>(@ProtoField(number = 1) long version, V value)
            implements Serializable {

        /** Read from ProtoStream: the definition travels wrapped with its type (field 2). */
        @ProtoFactory
        @SuppressWarnings("unchecked")
        static <V extends Serializable> Versioned<V> proto(long version, WrappedMessage wrappedValue) {
            return new Versioned<>(version, wrappedValue == null ? null : (V) wrappedValue.getValue());
        }

        @ProtoField(number = 2)
        WrappedMessage wrappedValue() {
            return value == null ? null : new WrappedMessage(value);
        }
    }

    /** What a node serves after a refresh round, and where it came from. */
    public record Round<V extends Serializable>(Map<String, Versioned<V>> definitions, DefinitionSource source) {
    }

    private static final Logger LOG = Logger.getLogger(DefinitionCache.class);

    private final Cache<String, Versioned<V>> cache;

    public DefinitionCache(Cache<String, Versioned<V>> cache) {
        this.cache = Objects.requireNonNull(cache);
    }

    /**
     * One round of a node's registry: reads the database and publishes what it read (database first, then the
     * cache); when the database does not answer, serves what the cluster holds. {@code what} names the definitions
     * in the log ("hypervisor", "pool"); {@code previous} is the last round's source, so an outage is logged once.
     */
    public Round<V> refresh(String what, DefinitionSource previous, Supplier<Map<String, Versioned<V>>> readDatabase) {
        Map<String, Versioned<V>> before = snapshot();
        Map<String, Versioned<V>> current;
        try {
            current = readDatabase.get();
        } catch (RuntimeException databaseDown) {
            if (previous != DefinitionSource.CLUSTER) {
                LOG.warnf("Definitions of %ss served from the cluster's cache (%d), the database does not answer: %s",
                        what, before.size(), databaseDown.getMessage());
            }
            return new Round<>(before, DefinitionSource.CLUSTER);
        }
        try {
            publish(before, current);
        } catch (RuntimeException e) {
            LOG.warnf("Definitions of %ss not published to the cluster: %s", what, e.getMessage());
        }
        return new Round<>(current, DefinitionSource.DATABASE);
    }

    /** The definition the cluster holds for {@code key}, or null. */
    public Versioned<V> get(String key) {
        return cache.get(key);
    }

    /** What the cluster holds now (a copy). */
    public Map<String, Versioned<V>> snapshot() {
        return new HashMap<>(cache);
    }

    /**
     * Publishes what was read from the database. {@code before} is the cache's content taken just before that read:
     * a definition in it but not in the database was deleted; one created by another node after the snapshot is
     * left alone. An entry is replaced only by a newer version (or by a different value of the same version).
     */
    public void publish(Map<String, Versioned<V>> before, Map<String, Versioned<V>> loaded) {
        loaded.forEach((key, fresh) -> {
            while (true) {
                Versioned<V> cached = cache.get(key);
                if (cached == null) {
                    if (cache.putIfAbsent(key, fresh) == null) {
                        return;
                    }
                } else if (cached.version() > fresh.version() || cached.equals(fresh)) {
                    return;
                } else if (cache.replace(key, cached, fresh)) {
                    return;
                }
            }
        });
        before.forEach((key, seen) -> {
            if (!loaded.containsKey(key)) {
                cache.remove(key, seen); // only if nobody changed it since
            }
        });
    }
}
