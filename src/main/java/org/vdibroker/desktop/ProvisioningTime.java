package org.vdibroker.desktop;

import java.time.Duration;
import java.util.OptionalDouble;

/**
 * How long a pool's desktops take from the start of their making (or refresh) until they are ready, as an
 * exponentially weighted mean of the latest completions. Every node measures it from the same desktops cache events
 * (first seen coming, then seen ready), so the node that answers a queued user knows it even when another node
 * manages the pool.
 */
final class ProvisioningTime {

    /** Weight of the newest completion: about the last twenty count, so one slow clone moves the mean little. */
    static final double WEIGHT = 0.1;

    private double seconds = Double.NaN;

    synchronized void observed(Duration took) {
        double now = Math.max(0, took.toMillis() / 1000.0);
        seconds = Double.isNaN(seconds) ? now : seconds + WEIGHT * (now - seconds);
    }

    /** Empty until a desktop of the pool became ready after being made or refreshed. */
    synchronized OptionalDouble seconds() {
        return Double.isNaN(seconds) ? OptionalDouble.empty() : OptionalDouble.of(seconds);
    }
}
