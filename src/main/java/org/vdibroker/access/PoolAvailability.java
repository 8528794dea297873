package org.vdibroker.access;

import java.util.List;

/** A pool the caller is entitled to, with what waiting for it looks like now. */
public record PoolAvailability(String id, String name, String displayName, String assignment,
        List<String> protocols, int readyDesktops, int queueLength, long estimatedWaitSeconds) {
}
