package org.vdibroker.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.vdibroker.desktop.DesktopService;

/** Once a pool has supplied desktops lately, a queued user's ETA is what is still needed over that rate. */
class WaitEstimateTest {

    @Test
    void theEtaIsTheDesktopsStillNeededOverThePoolsRecentSupplyRate() {
        WaitEstimate waits = new WaitEstimate();
        waits.desktops = new DesktopService() {
            @Override
            public int readyCount(String poolId) {
                return 3;
            }

            @Override
            public OptionalDouble readyRate(String poolId) {
                return OptionalDouble.of(2.0); // desktops per second
            }
        };
        Pool pool = PrewarmReplayTest.pool("rate", 0, false);
        assertThat(waits.seconds(pool, 1)).as("a ready desktop waits for the head of the queue").isZero();
        assertThat(waits.seconds(pool, 3)).isZero();
        assertThat(waits.seconds(pool, 4)).isEqualTo(1); // one more needed: half a second, rounded
        assertThat(waits.seconds(pool, 13)).isEqualTo(5); // ten more at two a second
        assertThat(waits.seconds(pool, 1003)).isEqualTo(500);
    }
}
