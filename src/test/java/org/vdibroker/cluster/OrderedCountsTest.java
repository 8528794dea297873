package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Queue positions come from these counts: they must equal a plain count of lower members after any changes. */
class OrderedCountsTest {

    @Test
    void countsBelowMatchASortedSetThroughArrivalsDeparturesAndWindowMoves() {
        OrderedCounts counts = new OrderedCounts();
        TreeSet<Long> expected = new TreeSet<>();
        Random random = new Random(12);
        long next = 1_000_000;
        for (int step = 0; step < 50_000; step++) {
            int action = random.nextInt(10);
            if (action < 5) { // arrivals take the next ticket, sometimes late (an event seen out of order)
                long ticket = random.nextInt(20) == 0 ? next - random.nextInt(3000) : next++;
                counts.add(ticket);
                expected.add(ticket);
            } else if (action < 9 && !expected.isEmpty()) { // mostly served from the head, sometimes leave the middle
                Long ticket = random.nextBoolean() ? expected.first()
                        : expected.ceiling(expected.first() + random.nextInt((int) (next - expected.first()) + 1));
                if (ticket != null && expected.remove(ticket)) {
                    counts.remove(ticket);
                }
            } else { // replayed events change nothing
                long ticket = next - 1 - random.nextInt(10);
                if (expected.contains(ticket)) {
                    counts.add(ticket);
                } else {
                    counts.remove(ticket);
                }
            }
            if (step % 97 == 0) {
                long probe = next - random.nextInt(5000);
                assertThat(counts.countBelow(probe)).as("below %d at step %d", probe, step)
                        .isEqualTo(expected.headSet(probe).size());
            }
            assertThat(counts.size()).isEqualTo(expected.size());
        }
        for (Long ticket : expected) {
            assertThat(counts.countBelow(ticket)).isEqualTo(expected.headSet(ticket).size());
        }
    }

    @Test
    void positionsCloseUpWhenSomeoneInTheMiddleLeaves() {
        OrderedCounts counts = new OrderedCounts();
        for (long t = 1; t <= 5; t++) {
            counts.add(t);
        }
        counts.remove(2);
        counts.remove(4);
        assertThat(counts.countBelow(1)).isZero();
        assertThat(counts.countBelow(3)).isEqualTo(1);
        assertThat(counts.countBelow(5)).isEqualTo(2);
        assertThat(counts.countBelow(6)).isEqualTo(3);
    }
}
