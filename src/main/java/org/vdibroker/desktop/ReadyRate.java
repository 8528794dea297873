package org.vdibroker.desktop;

import java.time.Duration;
import java.time.Instant;
import java.util.OptionalDouble;

/**
 * When a pool's desktops last became ready after being made or refreshed (the last {@value #KEPT}): the rate at which
 * the pool supplies desktops to its queue lately. Every node follows the same cache events, so every node answers a
 * queued user with the same rate, whichever node manages the pool.
 */
final class ReadyRate {

    static final int KEPT = 32;

    private final long[] at = new long[KEPT]; // epoch milliseconds, a ring
    private int count;
    private int next;

    synchronized void completed(Instant when) {
        at[next] = when.toEpochMilli();
        next = (next + 1) % KEPT;
        count = Math.min(count + 1, KEPT);
    }

    /**
     * Desktops per second over the completions within {@code window} before {@code now}, measured from the oldest of
     * them to now (so a supply that stopped shows as a falling rate); empty with fewer than {@code least}.
     */
    synchronized OptionalDouble perSecond(Instant now, Duration window, int least) {
        long nowMs = now.toEpochMilli();
        long since = nowMs - window.toMillis();
        int within = 0;
        long oldest = nowMs;
        for (int i = 0; i < count; i++) {
            if (at[i] >= since) {
                within++;
                oldest = Math.min(oldest, at[i]);
            }
        }
        if (within < least || nowMs <= oldest) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(within * 1000.0 / (nowMs - oldest));
    }
}
