package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Queue tickets are taken on every node at once: each caller gets a number nobody else got, and a caller's numbers
 * grow (the order a pool's queue is served in).
 */
class CountersClusterTest {

    private static List<DefaultCacheManager> nodes = List.of();
    private static final List<Counters> COUNTERS = new ArrayList<>();

    @BeforeAll
    static void startThreeNodes() throws Exception {
        nodes = EmbeddedCacheNodes.start("counters-test", 3, CacheNames.COUNTERS);
        nodes.forEach(node -> {
            Counters counters = new Counters();
            counters.manager = node;
            COUNTERS.add(counters);
        });
    }

    @AfterAll
    static void stop() {
        nodes.forEach(DefaultCacheManager::stop);
    }

    @Test
    void ticketsTakenOnThreeNodesAtOnceAreUniqueAndGrowPerCaller() throws Exception {
        int callers = 24;
        int each = 50;
        ConcurrentLinkedQueue<Long> all = new ConcurrentLinkedQueue<>();
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            List<Future<List<Long>>> results = new ArrayList<>();
            for (int c = 0; c < callers; c++) {
                Counters node = COUNTERS.get(c % COUNTERS.size());
                results.add(pool.submit(() -> {
                    List<Long> mine = new ArrayList<>();
                    for (int i = 0; i < each; i++) {
                        mine.add(node.next("queue:pool-a"));
                    }
                    return mine;
                }));
            }
            for (Future<List<Long>> result : results) {
                List<Long> mine = result.get();
                assertThat(mine).isSorted().doesNotHaveDuplicates();
                all.addAll(mine);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(all).hasSize(callers * each).doesNotHaveDuplicates().allMatch(v -> v >= 1);
        // without a topology change no number is skipped
        assertThat(all.stream().mapToLong(Long::longValue).max().orElseThrow()).isEqualTo((long) callers * each);
        // counters are independent of each other and start at 1
        assertThat(COUNTERS.get(1).next("queue:pool-b")).isEqualTo(1L);
        assertThat(COUNTERS.get(2).next("queue:pool-b")).isEqualTo(2L);
    }
}
