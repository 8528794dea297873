package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.infinispan.Cache;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.Test;

/**
 * A node that starts while its peers write builds its indexes from the cache's current entries and from the events
 * of the writes that cross its start; once the writes stop its indexes must say what the cache says. Each entry goes
 * through the steps of a session (arriving, queued, ready), one conditional replace each, as the broker writes them,
 * and every fourth is removed after (an ended session purged). Infinispan delivers such events out of order.
 */
class CacheIndexJoinTest {

    private static final String CACHE = CacheNames.SESSIONS;

    @Test
    void aNodeJoiningDuringWritesIndexesWhatTheCacheHolds() throws Exception {
        List<DefaultCacheManager> nodes = new ArrayList<>(EmbeddedCacheNodes.start("index-join", 2, CACHE));
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger written = new AtomicInteger();
        List<Thread> writers = new ArrayList<>();
        try {
            for (int w = 0; w < 4; w++) {
                Cache<String, String> cache = nodes.get(w % 2).getCache(CACHE);
                int writer = w;
                Thread t = new Thread(() -> {
                    for (int i = 0; writing.get(); i++) {
                        String key = "s-" + writer + "-" + i;
                        cache.put(key, "pool:ARRIVING:1");
                        cache.replace(key, "pool:ARRIVING:1", "pool:QUEUED:2");
                        cache.replace(key, "pool:QUEUED:2", "pool:READY:3");
                        if (i % 4 == 0) {
                            cache.remove(key, "pool:READY:3"); // ended and purged
                        }
                        written.incrementAndGet();
                    }
                }, "writer-" + w);
                t.start();
                writers.add(t);
            }
            Thread.sleep(500);
            DefaultCacheManager joining = EmbeddedCacheNodes.join("index-join", nodes, CACHE);
            nodes.add(joining);
            Cache<String, String> joined = joining.getCache(CACHE);
            CacheIndexes<String> indexes = CacheIndexes.of(joined, v -> Long.parseLong(v.split(":")[2]));
            CacheIndex<String> byStep = indexes.index(v -> v.split(":")[1]);
            indexes.start();
            Thread.sleep(1500);
            writing.set(false);
            for (Thread t : writers) {
                t.join();
            }
            Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
            Map<String, String> wrong = wrongEntries(joined, byStep);
            while (!wrong.isEmpty() && Instant.now().isBefore(deadline)) {
                Thread.sleep(200); // events are delivered asynchronously
                wrong = wrongEntries(joined, byStep);
            }
            assertThat(wrong).as("index entries of %d written sessions that differ from the cache", written.get())
                    .isEmpty();

            // removed on another node, then written anew under its key with a higher version (a desktop rebuilt
            // from the inventory): the removal event carries the removed version, so the new entry is indexed
            Cache<String, String> other = nodes.get(0).getCache(CACHE);
            other.put("again", "pool:READY:1");
            other.remove("again");
            other.put("again", "pool:QUEUED:1000");
            Instant rewritten = Instant.now().plus(Duration.ofSeconds(10));
            while (!byStep.get("QUEUED").contains("again") && Instant.now().isBefore(rewritten)) {
                Thread.sleep(50);
            }
            assertThat(byStep.get("QUEUED")).as("the entry written anew").contains("again");
            assertThat(byStep.get("READY")).doesNotContain("again");
        } finally {
            writing.set(false);
            nodes.forEach(DefaultCacheManager::stop);
        }
    }

    /** Entries whose index step is not the cache's, as key -> "index step / cache value". */
    private static Map<String, String> wrongEntries(Cache<String, String> cache, CacheIndex<String> byStep) {
        Map<String, String> wrong = new TreeMap<>();
        Map<String, String> truth = new TreeMap<>();
        cache.forEach(truth::put);
        for (String step : List.of("ARRIVING", "QUEUED", "READY")) {
            for (String key : byStep.get(step)) {
                String value = truth.get(key);
                if (value == null || !value.split(":")[1].equals(step)) {
                    wrong.put(key, step + " / " + value);
                }
            }
        }
        truth.forEach((key, value) -> {
            if (!byStep.get(value.split(":")[1]).contains(key)) {
                wrong.putIfAbsent(key, "missing / " + value);
            }
        });
        return wrong;
    }
}
