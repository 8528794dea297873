package org.vdibroker.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/** Sessions opened per pool and 15-minute slot: what predictive pre-warming learns from. */
public interface LoginCounts {

    /** Slots are aligned to the epoch, so also to local time in every zone in use (offsets are whole quarters). */
    Duration SLOT = Duration.ofMinutes(15);

    /** Arrivals per slot start in [from, to); slots without arrivals may be missing. */
    Map<Instant, Integer> arrivals(String poolId, Instant from, Instant to);

    static Instant slotStart(Instant at) {
        long seconds = at.getEpochSecond();
        return Instant.ofEpochSecond(seconds - Math.floorMod(seconds, SLOT.toSeconds()));
    }
}
