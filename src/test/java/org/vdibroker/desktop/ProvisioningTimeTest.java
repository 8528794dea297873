package org.vdibroker.desktop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ProvisioningTimeTest {

    @Test
    void emptyUntilADesktopCompleted() {
        assertThat(new ProvisioningTime().seconds()).isEmpty();
    }

    /** Desktops started together complete fastest first: the mean must not follow the order they came in. */
    @Test
    void aRoundCompletingInOrderOfDurationGivesItsMean() {
        ProvisioningTime time = new ProvisioningTime();
        for (int s = 15; s <= 45; s++) { // 31 desktops of 15-45 s, mean 30 s
            time.observed(Duration.ofSeconds(s));
        }
        assertThat(time.seconds().getAsDouble()).isCloseTo(30.0, offset(1e-9));
    }

    @Test
    void theFastHalfOfTheNextRoundMovesItLittle() {
        ProvisioningTime time = new ProvisioningTime();
        for (int round = 0; round < 3; round++) {
            for (int s = 15; s <= 45; s++) {
                time.observed(Duration.ofSeconds(s));
            }
        }
        for (int s = 15; s < 30; s++) { // half a round done, the fast half
            time.observed(Duration.ofSeconds(s));
        }
        assertThat(time.seconds().getAsDouble()).as("within 10 %% of the 30 s mean").isBetween(27.0, 33.0);
    }

    @Test
    void aLastingChangeOfSpeedShowsWithinTheCompletionsItFollows() {
        ProvisioningTime time = new ProvisioningTime();
        for (int i = 0; i < 200; i++) {
            time.observed(Duration.ofSeconds(30));
        }
        for (int i = 0; i < 2 * ProvisioningTime.COMPLETIONS; i++) { // the hypervisors became twice as slow
            time.observed(Duration.ofSeconds(60));
        }
        assertThat(time.seconds().getAsDouble()).isBetween(55.0, 60.0);
    }
}
