package org.vdibroker.cluster;

import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * The entry keys under one index key of a {@link CacheIndex}: a set that also hands out a random member in O(1), so
 * that a claim among thousands of ready desktops need not copy them all to pick one at random (it did, and that
 * copy was most of a warm assignment's CPU on one node). Kept in an array with each key's position; a removal moves
 * the last key into the gap. Iteration walks a snapshot.
 */
final class IndexKeys extends AbstractSet<String> {

    private final List<String> keys = new ArrayList<>();
    private final Map<String, Integer> positions = new HashMap<>();

    @Override
    public synchronized boolean add(String key) {
        if (positions.putIfAbsent(key, keys.size()) != null) {
            return false;
        }
        keys.add(key);
        return true;
    }

    @Override
    public synchronized boolean remove(Object key) {
        Integer at = positions.remove(key);
        if (at == null) {
            return false;
        }
        String last = keys.remove(keys.size() - 1);
        if (at < keys.size()) {
            keys.set(at, last);
            positions.put(last, at);
        }
        return true;
    }

    @Override
    public synchronized boolean contains(Object key) {
        return positions.containsKey(key);
    }

    @Override
    public synchronized int size() {
        return keys.size();
    }

    /** A member picked uniformly at random; null when empty. */
    synchronized String any(RandomGenerator random) {
        return keys.isEmpty() ? null : keys.get(random.nextInt(keys.size()));
    }

    @Override
    public Iterator<String> iterator() {
        List<String> snapshot;
        synchronized (this) {
            snapshot = List.copyOf(keys);
        }
        return snapshot.iterator(); // read-only: the index changes only through the cache
    }
}
