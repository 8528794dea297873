package org.vdibroker.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.testsupport.Api;

/** A desktop claimed for a session that never got it (its node died between the two writes) is freed again. */
@QuarkusTest
class OrphanedClaimTest {

    @Inject
    DesktopService desktops;

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
}
