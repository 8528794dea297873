package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.infinispan.commons.CacheException;
import org.infinispan.commons.IllegalLifecycleStateException;
import org.infinispan.partitionhandling.AvailabilityException;
import org.infinispan.remoting.RemoteException;
import org.junit.jupiter.api.Test;

/**
 * What a desktop request is asked again for: a write refused by a peer that was shutting down, as OutageRestartIT
 * met it (a {@code RemoteException} from the stopping node, caused by its caches' {@code STOPPING} state); not a
 * minority partition, nor any other failure.
 */
class PeerStoppingTest {

    private final PeerStopping stopping = new PeerStopping();

    @Test
    void aWriteRefusedByAStoppingPeerIsAskedAgain() {
        IllegalLifecycleStateException refused = new IllegalLifecycleStateException(
                "ISPN000324: Cache 'sessions' is in 'STOPPING' state");
        assertThat(stopping.test(new RemoteException("ISPN000217: Received exception from node-3", refused))).isTrue();
        assertThat(stopping.test(refused)).isTrue();
    }

    @Test
    void otherFailuresAreNot() {
        assertThat(stopping.test(new AvailabilityException())).isFalse();
        assertThat(stopping.test(new RemoteException("from node-2", new CacheException("a bug")))).isFalse();
        assertThat(stopping.test(new IllegalStateException("no cause"))).isFalse();
    }
}
