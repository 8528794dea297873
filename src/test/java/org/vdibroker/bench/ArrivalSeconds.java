package org.vdibroker.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * An open loop's latency by the second its requests fell due in: whether a slow tail is spread over the run or
 * belongs to one part of it (nodes compiling the path at the start, a pause, a backlog). The open loop records each
 * latency here as it measures it, from the request's due time.
 */
public final class ArrivalSeconds {
    /** What a closed loop has: no due times, no seconds. */
    static final ArrivalSeconds NONE = new ArrivalSeconds(-1);

    private final Histogram[] bins;

    /** Bins for requests due in {@code seconds} seconds (and one for any later). */
    ArrivalSeconds(int seconds) {
        bins = new Histogram[seconds + 1];
        for (int s = 0; s < bins.length; s++) {
            bins[s] = new ConcurrentHistogram(TimeUnit.MINUTES.toMicros(10), 3);
        }
    }

    /** A request due {@code dueNanos} after the loop's start was answered {@code latencyMicros} after it fell due. */
    void record(long dueNanos, long latencyMicros) {
        int second = (int) Math.min(bins.length - 1, dueNanos / 1_000_000_000L);
        bins[second].recordValue(latencyMicros);
    }

    List<Map<String, Object>> summary() {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int s = 0; s < bins.length; s++) {
            if (bins[s].getTotalCount() > 0) {
                rows.add(Map.of("second", s, "requests", bins[s].getTotalCount(),
                        "p50Ms", bins[s].getValueAtPercentile(50) / 1000.0,
                        "p99Ms", bins[s].getValueAtPercentile(99) / 1000.0,
                        "maxMs", bins[s].getMaxValue() / 1000.0));
            }
        }
        return rows;
    }

    /** The p99 of each {@code window} seconds of arrivals, after the name of the {@code run}. */
    String markdown(String run, int window) {
        StringBuilder text = new StringBuilder(String.format(Locale.ROOT,
                "%s, latency by the second the requests fell due in, p99 per %d s:", run, window));
        for (int from = 0; from < bins.length; from += window) {
            Histogram part = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
            for (int s = from; s < Math.min(bins.length, from + window); s++) {
                part.add(bins[s]);
            }
            if (part.getTotalCount() > 0) {
                text.append(String.format(Locale.ROOT, " %d-%d s %.0f ms;", from, from + window,
                        part.getValueAtPercentile(99) / 1000.0));
            }
        }
        return text.toString();
    }
}
