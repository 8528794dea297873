package org.vdibroker.desktop;

import java.time.Duration;
import java.util.OptionalDouble;

/**
 * How long a pool's desktops take from the start of their making (or refresh) until they are ready: the mean of the
 * latest {@link #COMPLETIONS} completions (a plain mean until that many completed, then an exponentially weighted
 * one with weight 1 / {@code COMPLETIONS}). Every node measures it alike, from the instants written in the desktops'
 * values ({@link DesktopWork}), so the node that answers a queued user knows it even when another node manages the pool.
 *
 * <p>Why a long memory: desktops started together (the spares, a logon storm's first round) complete in order of
 * their duration, the fast ones first. A mean of the latest twenty (weight 0.1, until 2026-12-06) therefore ran short
 * while a round was half done and long as its slowest desktops came in: in a cold storm of 1,000 users on 100
 * operation slots it swung between 27 and 38 s for desktops of 31 s on average, and the queue's ETAs with it (-19 %
 * to +15 % by arrival). Over fifty completions one round's order moves it far less, and a lasting change of the
 * hypervisors' speed still shows within fifty desktops.
 */
final class ProvisioningTime {

    /** About how many of the latest completions the mean follows. */
    static final int COMPLETIONS = 50;

    private double seconds;
    private long observed;

    synchronized void observed(Duration took) {
        observed++;
        seconds += (Math.max(0, took.toMillis() / 1000.0) - seconds) / Math.min(observed, COMPLETIONS);
    }

    /** Empty until a desktop of the pool became ready after being made or refreshed. */
    synchronized OptionalDouble seconds() {
        return observed == 0 ? OptionalDouble.empty() : OptionalDouble.of(seconds);
    }
}
