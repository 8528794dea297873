package org.vdibroker.desktop;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.NavigableSet;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * How long a pool's desktops take from the start of their making (or refresh) until they are ready: the mean of about
 * the latest {@link #COMPLETIONS} desktops in the order they <em>started</em> (a plain mean until that many, then an
 * exponentially weighted one with weight 1 / {@code COMPLETIONS}). Every node measures it alike, from the instants
 * written in the desktops' values ({@link DesktopWork}), so the node that answers a queued user knows it even when
 * another node manages the pool.
 *
 * <p>Why in the order they started, and only once settled: desktops started together (the spares, a logon storm's
 * rounds) complete in order of their duration, the fast ones first. Any mean that favours the latest completions
 * therefore runs short while a round is half done and long as its slowest desktops come in: weighted over the latest
 * twenty it swung between 27 and 38 s for desktops of 31 s; over the latest fifty (until 2026-12-06) it still ended a
 * round of 200 spares of 60 s at 71-73 s, so a storm's first ETAs were 20 % long. So a completion is held back until
 * every desktop that started before it has ended too (then nothing faster or slower that started earlier is still to
 * come), and is then folded in in start order, which has nothing to do with duration. A desktop under way far longer
 * than the mean ({@link #STUCK_FACTOR} times; {@link #STUCK_BEFORE_ANY} before any mean) is taken for stuck and holds
 * nothing back. Until the first desktop is settled, the figure is the mean of those completed so far.
 */
final class ProvisioningTime {

    /** About how many of the latest settled desktops the mean follows. */
    static final int COMPLETIONS = 50;
    /** A desktop under way this many means long is stuck: it no longer holds back those started after it. */
    static final double STUCK_FACTOR = 3;
    /** The same before the pool has a mean. */
    static final Duration STUCK_BEFORE_ANY = Duration.ofMinutes(30);

    /** A desktop's start: ordered by instant, then id. */
    private record Start(Instant at, String id) {
        static final Comparator<Start> ORDER = Comparator.comparing(Start::at).thenComparing(Start::id);
    }

    private final NavigableSet<Start> underWay = new TreeSet<>(Start.ORDER);
    /** Completions (seconds) not yet folded in: something that started before them is still under way. */
    private final NavigableMap<Start, Double> unsettled = new TreeMap<>(Start.ORDER);
    private double seconds;
    private long folded;

    /** Desktop {@code id} began to be made or refreshed at {@code at}. */
    synchronized void started(String id, Instant at) {
        underWay.add(new Start(at, id));
    }

    /**
     * Desktop {@code id}, under way since {@code at}, ended: ready after {@code took}, or null when it left otherwise
     * (failed, retired, gone), which is no provisioning time but no longer holds back the others either.
     */
    synchronized void ended(String id, Instant at, Duration took, Instant now) {
        Start start = new Start(at, id);
        underWay.remove(start);
        if (took != null) {
            unsettled.put(start, Math.max(0, took.toMillis() / 1000.0));
        }
        Start horizon = horizon(now);
        while (!unsettled.isEmpty() && (horizon == null || Start.ORDER.compare(unsettled.firstKey(), horizon) < 0)) {
            fold(unsettled.pollFirstEntry().getValue());
        }
    }

    /** The oldest desktop under way that is not stuck; null if none. */
    private Start horizon(Instant now) {
        Instant stuckBefore = folded == 0 ? now.minus(STUCK_BEFORE_ANY)
                : now.minusMillis((long) (STUCK_FACTOR * seconds * 1000));
        for (Start s : underWay) { // past the stuck ones, which are few
            if (s.at().isAfter(stuckBefore)) {
                return s;
            }
        }
        return null;
    }

    private void fold(double took) {
        folded++;
        seconds += (took - seconds) / Math.min(folded, COMPLETIONS);
    }

    /** Empty until a desktop of the pool became ready after being made or refreshed. */
    synchronized OptionalDouble seconds() {
        if (folded > 0) {
            return OptionalDouble.of(seconds);
        }
        return unsettled.values().stream().mapToDouble(Double::doubleValue).average();
    }

    /** Seconds since each desktop under way started, oldest first: how far along the next desktops are. */
    synchronized double[] ages(Instant now) {
        return underWay.stream().mapToDouble(s -> Math.max(0, Duration.between(s.at(), now).toMillis() / 1000.0))
                .toArray();
    }

    /** The desktops under way and when each started, oldest first. */
    synchronized Map<String, Instant> underWay() {
        Map<String, Instant> all = new LinkedHashMap<>();
        underWay.forEach(s -> all.put(s.id(), s.at()));
        return all;
    }

    /** Desktops under way and completions held back: what this keeps in memory. */
    synchronized int size() {
        return underWay.size() + unsettled.size();
    }
}
