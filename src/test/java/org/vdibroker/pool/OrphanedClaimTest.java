package org.vdibroker.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.cluster.CacheNames;
import org.junit.jupiter.api.Test;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;
import org.vdibroker.session.SessionStore;
import org.vdibroker.testsupport.Api;

/** A desktop claimed for a session that never got it (its node died between the two writes) is freed again. */
@QuarkusTest
class OrphanedClaimTest {

    @Inject
    DesktopService desktops;

    @Inject
    SessionStore sessions;

    @Inject
    EmbeddedCacheManager caches;

    @Test
    void aClaimNoSessionKnowsIsReleased() {
        Api.simulator("sim-orphan", 10, 50, 50);
        Api.createPool(Api.pool("orphans", "floating", 1, 0, 1, "sim-orphan", List.of("/engineering")));
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("orphans", "READY") == 1);

        DesktopState claimed = desktops.claim("orphans", "00000000-0000-0000-0000-00000000dead", "sub-ghost", "ghost",
                false)
                .orElseThrow();
        assertThat(Api.desktopsIn("orphans", "ASSIGNED")).isEqualTo(1);
        await("the orphaned claim released", Duration.ofSeconds(15),
                () -> "READY".equals(Api.desktop("orphans", claimed.id()).get("state")));
        assertThat(Api.desktop("orphans", claimed.id()).get("sessionId")).isNull();
    }

    /**
     * A new session claims its desktop first and is then written READY and published in user-sessions. If its node
     * dies between the last two writes, the session holds the desktop but nobody was told of it, and the user's retry
     * gets another session: the pool manager ends the unpublished one, so its desktop does not stay held.
     */
    @Test
    void aNewSessionThatClaimedFirstButWasNeverPublishedIsEnded() {
        Api.simulator("sim-unpub", 10, 50, 50);
        Api.createPool(Api.pool("unpub", "floating", 1, 0, 1, "sim-unpub", List.of("/engineering")));
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("unpub", "READY") == 1);

        String sessionId = UUID.randomUUID().toString();
        DesktopState claimed = desktops.claim("unpub", sessionId, "sub-unpub", "unpub", false).orElseThrow();
        Instant at = Instant.now();
        caches.<String, SessionState>getCache(CacheNames.SESSIONS).put(sessionId, new SessionState(sessionId, "unpub",
                "sub-unpub", "unpub", SessionStatus.READY, claimed.id(), "rdp", 0, at, at, at, null, null, 1));

        await("the unpublished session ended", Duration.ofSeconds(15),
                () -> sessions.get(sessionId).map(s -> s.status() == SessionStatus.ENDED).orElse(false));
        assertThat(sessions.get(sessionId).orElseThrow().endReason()).isEqualTo("unpublished");
        await("its desktop no longer held", Duration.ofSeconds(15),
                () -> Api.desktop("unpub", claimed.id()).get("sessionId") == null);
        assertThat(sessions.liveSession("unpub", "sub-unpub")).isEmpty();
    }
}
