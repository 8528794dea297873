package org.vdibroker.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/** The minimal pool manager: spares kept within min and max, never more operations on a host than its limit. */
@QuarkusTest
class PoolSizingTest {

    static final Set<String> IN_FLIGHT = Set.of("PROVISIONING", "STARTING", "REFRESHING", "RETIRING");

    @Test
    void neverMoreConcurrentOperationsOnAHypervisorThanItsLimit() {
        Api.simulator("sim-limit", 100, 400, 400, 3);
        Api.createPool(Api.pool("limited", "floating", 12, 0, 12, "sim-limit", List.of("/engineering")));
        int maxSeen = 0;
        Instant deadline = Instant.now().plusSeconds(60);
        while (Api.desktopsIn("limited", "READY") < 12) {
            assertThat(Instant.now()).as("12 desktops ready in time").isBefore(deadline);
            long inFlight = Api.desktops("limited").stream().filter(d -> IN_FLIGHT.contains(d.get("state")))
                    .count();
            maxSeen = Math.max(maxSeen, (int) inFlight);
            assertThat(inFlight).as("operations in flight on sim-limit").isLessThanOrEqualTo(3);
        }
        assertThat(maxSeen).as("the limit was actually reached").isEqualTo(3);
    }

    @Test
    void sparesAreRefilledAfterABurstButNeverAboveMax() {
        Api.simulator("sim-spare", 100, 100, 100);
        Api.createPool(Api.pool("spares", "floating", 0, 3, 6, "sim-spare", List.of("/engineering")));
        await("3 spares", Duration.ofSeconds(30), () -> Api.desktopsIn("spares", "READY") == 3);
        for (int i = 0; i < 5; i++) {
            Api.requestDesktop(Tokens.user("burst-" + i, "/engineering"), "spares");
        }
        // 5 users + 3 spares wanted, but max is 6: all 6 are made, 5 in use, 1 spare, never more
        await("pool at max", Duration.ofSeconds(30), () -> Api.desktops("spares").size() == 6
                && Api.desktopsIn("spares", "ASSIGNED") == 5 && Api.desktopsIn("spares", "READY") == 1);
        for (int i = 0; i < 10; i++) {
            List<Map<String, Object>> desktops = Api.desktops("spares");
            assertThat(desktops).hasSizeLessThanOrEqualTo(6);
            sleep(200);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
