package org.vdibroker.access.login;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * At most {@code limit} attempts per key within any {@code window} (a sliding window: each key keeps the times of its
 * last {@code limit} attempts in a ring). Kept in memory of this node only; keys without an attempt within the window
 * are swept now and then, so the map does not grow with every name an attacker tries.
 */
public final class SlidingWindowLimiter {

    private static final int SWEEP_EVERY = 1024;

    private final int limit;
    private final long windowNanos;
    private final LongSupplier clock;
    private final ConcurrentHashMap<String, Ring> rings = new ConcurrentHashMap<>();
    private final AtomicLong calls = new AtomicLong();

    public SlidingWindowLimiter(int limit, Duration window) {
        this(limit, window, System::nanoTime);
    }

    SlidingWindowLimiter(int limit, Duration window, LongSupplier clock) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1");
        }
        this.limit = limit;
        this.windowNanos = window.toNanos();
        this.clock = clock;
    }

    /**
     * Records an attempt for {@code key} if the window has room for it.
     *
     * @return {@link Duration#ZERO} when the attempt is allowed, else how long until the window has room again
     */
    public Duration tryAcquire(String key) {
        long now = clock.getAsLong();
        if (calls.incrementAndGet() % SWEEP_EVERY == 0) {
            sweep(now);
        }
        Ring ring = rings.computeIfAbsent(key, k -> new Ring(limit));
        synchronized (ring) {
            long wait = ring.acquire(now, windowNanos);
            return wait <= 0 ? Duration.ZERO : Duration.ofNanos(wait);
        }
    }

    int trackedKeys() {
        return rings.size();
    }

    void sweep(long now) {
        rings.forEach((key, ring) -> {
            synchronized (ring) {
                if (ring.idleSince(now, windowNanos)) {
                    rings.remove(key, ring);
                }
            }
        });
    }

    /** The times of the last {@code limit} attempts of one key, oldest at {@code head}. */
    private static final class Ring {
        private final long[] times;
        private int head;
        private int size;

        Ring(int limit) {
            times = new long[limit];
        }

        long acquire(long now, long window) {
            while (size > 0 && now - times[head] >= window) {
                head = (head + 1) % times.length;
                size--;
            }
            if (size == times.length) {
                return times[head] + window - now;
            }
            times[(head + size) % times.length] = now;
            size++;
            return 0;
        }

        boolean idleSince(long now, long window) {
            return size == 0 || now - times[(head + size - 1) % times.length] >= window;
        }
    }
}
