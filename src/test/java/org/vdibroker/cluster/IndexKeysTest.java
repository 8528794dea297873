package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The index's key set stays the set it was told, through adds and removals, and picks only its own members. */
class IndexKeysTest {

    @Test
    void staysEqualToASetThroughRandomAddsAndRemovals() {
        Random random = new Random(42);
        IndexKeys keys = new IndexKeys();
        Set<String> model = new HashSet<>();
        for (int i = 0; i < 20_000; i++) {
            String key = "d" + random.nextInt(300);
            if (random.nextInt(3) == 0) {
                assertThat(keys.remove(key)).isEqualTo(model.remove(key));
            } else {
                assertThat(keys.add(key)).isEqualTo(model.add(key));
            }
            assertThat(keys.size()).isEqualTo(model.size());
            String any = keys.any(random);
            assertThat(any == null ? model.isEmpty() : model.contains(any)).isTrue();
        }
        assertThat(keys).containsExactlyInAnyOrderElementsOf(model);
        model.forEach(k -> assertThat(keys.contains(k)).isTrue());
    }

    @Test
    void picksEveryMemberAboutEquallyOften() {
        IndexKeys keys = new IndexKeys();
        for (int i = 0; i < 10; i++) {
            keys.add("d" + i);
        }
        keys.remove("d3"); // the last key moves into its place
        Random random = new Random(7);
        Map<String, Integer> picks = new HashMap<>();
        for (int i = 0; i < 90_000; i++) {
            picks.merge(keys.any(random), 1, Integer::sum);
        }
        assertThat(picks).hasSize(9).doesNotContainKey("d3");
        picks.values().forEach(n -> assertThat(n).isBetween(9_000, 11_000)); // 10,000 expected each
        assertThat(new IndexKeys().any(random)).isNull();
    }
}
