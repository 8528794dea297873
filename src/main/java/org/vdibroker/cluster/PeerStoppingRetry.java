package org.vdibroker.cluster;

import io.smallrye.common.annotation.Identifier;
import io.smallrye.faulttolerance.api.Guard;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.time.temporal.ChronoUnit;

/**
 * The one retry of every write that may meet a peer shutting down ({@link PeerStopping}): a method carrying
 * {@code @ApplyGuard(PeerStoppingRetry.NAME)} is called again, up to five times, 300 ms apart (± 100 ms), for 10 s at
 * most, while the failure is a stopping node's refusal; any other failure goes straight to its caller. A graceful
 * shutdown leaves the view within a second or two, well inside these bounds. One definition, so the paths that rely
 * on each other's retry (a desktop request and the audit entry it writes) cannot drift apart.
 */
@Singleton
public class PeerStoppingRetry {

    /** The guard's identifier, for {@code @ApplyGuard}. */
    public static final String NAME = "peer-stopping-retry";

    @Produces
    @Identifier(NAME)
    public static final Guard GUARD = Guard.create().withDescription(NAME)
            .withRetry().maxRetries(5).delay(300, ChronoUnit.MILLIS).jitter(100, ChronoUnit.MILLIS)
            .maxDuration(10, ChronoUnit.SECONDS).whenException(new PeerStopping()).done()
            .build();
}
