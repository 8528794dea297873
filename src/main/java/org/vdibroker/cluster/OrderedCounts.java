package org.vdibroker.cluster;

import java.util.BitSet;

/**
 * A set of non-negative longs (e.g. queue tickets) that answers "how many members are below x" in O(log n): a
 * Fenwick tree over a window of values starting at {@code base}, plus a bit set of members. Adding a member twice or
 * removing a non-member changes nothing, so replayed or reordered cache events cannot make the counts drift. The
 * window moves up (rebuilt in O(window), amortized over the members that left) as low values leave, and doubles when
 * the spread of members outgrows it.
 */
public final class OrderedCounts {

    private static final int INITIAL = 1024;

    private long base;
    private BitSet members = new BitSet();
    private int[] tree = new int[INITIAL + 1];
    private int size;

    public synchronized void add(long value) {
        if (size == 0 && members.isEmpty()) {
            base = value;
        }
        if (value < base || value - base >= capacity()) {
            refit(value);
        }
        int offset = (int) (value - base);
        if (members.get(offset)) {
            return;
        }
        members.set(offset);
        size++;
        bump(offset, 1);
    }

    public synchronized void remove(long value) {
        if (value < base || value - base >= capacity()) {
            return;
        }
        int offset = (int) (value - base);
        if (!members.get(offset)) {
            return;
        }
        members.clear(offset);
        size--;
        bump(offset, -1);
    }

    /** How many members are strictly below {@code value}. */
    public synchronized int countBelow(long value) {
        if (value <= base) {
            return 0;
        }
        long end = Math.min(value - base, capacity());
        int count = 0;
        for (int i = (int) end; i > 0; i -= i & -i) {
            count += tree[i];
        }
        return count;
    }

    public synchronized int size() {
        return size;
    }

    private int capacity() {
        return tree.length - 1;
    }

    private void bump(int offset, int delta) {
        for (int i = offset + 1; i < tree.length; i += i & -i) {
            tree[i] += delta;
        }
    }

    /** Moves the window to start at the lowest member (or {@code value}) and grows it until {@code value} fits. */
    private void refit(long value) {
        int lowest = members.nextSetBit(0);
        long newBase = lowest < 0 ? value : Math.min(value, base + lowest);
        long spread = Math.max(value, lowest < 0 ? value : base + members.length() - 1) - newBase + 1;
        int newCapacity = capacity();
        while (newCapacity < spread * 2 && newCapacity < Integer.MAX_VALUE / 2) {
            newCapacity *= 2;
        }
        BitSet moved = new BitSet();
        for (int i = members.nextSetBit(0); i >= 0; i = members.nextSetBit(i + 1)) {
            moved.set((int) (base + i - newBase));
        }
        if (newCapacity < spread) {
            throw new IllegalStateException("values too far apart: " + spread);
        }
        base = newBase;
        members = moved;
        tree = new int[newCapacity + 1];
        // linear Fenwick build
        for (int i = members.nextSetBit(0); i >= 0; i = members.nextSetBit(i + 1)) {
            tree[i + 1]++;
        }
        for (int i = 1; i < tree.length; i++) {
            int parent = i + (i & -i);
            if (parent < tree.length) {
                tree[parent] += tree[i];
            }
        }
    }
}
