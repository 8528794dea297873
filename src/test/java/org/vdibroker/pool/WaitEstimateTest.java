package org.vdibroker.pool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.vdibroker.desktop.DesktopService;

/**
 * A queued user's ETA follows the pool's pipeline: ready desktops first, then the desktops under way (oldest first),
 * then rounds of the hypervisors' operation slots, one provisioning time each.
 */
class WaitEstimateTest {

    /** Three ready, four under way (started 18, 10, 10 and 2 s ago), ten slots, 20 s to make one, ticks of 1 s. */
    private static WaitEstimate estimate(OptionalDouble provisioning) {
        WaitEstimate waits = new WaitEstimate() {
            @Override
            int parallelism(Pool pool) {
                return 10;
            }

            @Override
            double halfTick() {
                return 0.5;
            }
        };
        waits.desktops = new DesktopService() {
            @Override
            public int readyCount(String poolId) {
                return 3;
            }

            @Override
            public OptionalDouble provisioningSeconds(String poolId) {
                return provisioning;
            }

            @Override
            public double[] comingAges(String poolId) {
                return new double[] {18, 10, 10, 2};
            }
        };
        waits.stats = new ProvisioningStats(); // this node's own figure: the 30 s default, none observed
        return waits;
    }

    @Test
    void readyDesktopsThenTheDesktopsUnderWayThenRoundsOfTheHypervisorsSlots() {
        WaitEstimate waits = estimate(OptionalDouble.of(20));
        Pool pool = PrewarmReplayTest.pool("eta", 0, false);
        assertThat(waits.seconds(pool, 1)).as("a ready desktop waits for the head of the queue").isZero();
        assertThat(waits.seconds(pool, 3)).isZero();
        assertThat(waits.seconds(pool, 4)).as("the oldest desktop under way: 2 s left, half a tick").isEqualTo(3);
        assertThat(waits.seconds(pool, 5)).as("10 s left").isEqualTo(11);
        assertThat(waits.seconds(pool, 7)).as("the newest under way, 18 s left").isEqualTo(19);
        // six slots are free now: the next six start at the next tick and take one provisioning time
        assertThat(waits.seconds(pool, 8)).isEqualTo(21);
        assertThat(waits.seconds(pool, 13)).isEqualTo(21);
        // then each starts when a slot frees: position 14 when the oldest under way is ready (2 s), one round later
        assertThat(waits.seconds(pool, 14)).isEqualTo(23);
        assertThat(waits.seconds(pool, 17)).as("after the newest under way").isEqualTo(39);
        assertThat(waits.seconds(pool, 23)).as("second round of the free slots").isEqualTo(42);
        // far back in a storm: a provisioning time (plus half a tick) per ten users
        assertThat(waits.seconds(pool, 1003)).isBetween(2000L, 2100L);
    }

    @Test
    void beforeAnyDesktopOfThePoolWasMadeThisNodesOwnFigureStandsIn() {
        WaitEstimate waits = estimate(OptionalDouble.empty());
        Pool pool = PrewarmReplayTest.pool("eta", 0, false);
        assertThat(waits.seconds(pool, 8)).as("30 s default, half a tick to start, half a tick to hand out")
                .isEqualTo(31);
    }
}
