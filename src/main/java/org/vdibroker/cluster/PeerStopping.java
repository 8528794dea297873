package org.vdibroker.cluster;

import java.util.function.Predicate;
import org.infinispan.commons.IllegalLifecycleStateException;

/**
 * Whether a cache operation failed because a node it needed was stopping: a peer shut down gracefully while it still
 * owned a copy of the key (it refuses new commands before it leaves the cluster's view), or this node's own caches
 * are stopping. The next view no longer has the peer, so the same operation a moment later goes to the owners that
 * remain: a retry, not an error for the user. {@link PeerStoppingRetry} asks such an operation again.
 */
public final class PeerStopping implements Predicate<Throwable> {

    @Override
    public boolean test(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof IllegalLifecycleStateException) {
                return true;
            }
        }
        return false;
    }
}
