package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.infinispan.Cache;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.Test;

/**
 * The node-local index follows creates, changes and removals of the cache it indexes, in the order of the entries'
 * versions whatever order the events come in. Values here are "pool:STATE:version".
 */
class CacheIndexTest {

    private static long version(String value) {
        return Long.parseLong(value.substring(value.lastIndexOf(':') + 1));
    }

    private static String readyPool(String value) {
        String[] parts = value.split(":");
        return parts[1].equals("READY") ? parts[0] : null;
    }

    @Test
    void indexFollowsTheCache() throws Exception {
        try (DefaultCacheManager manager = new DefaultCacheManager(new GlobalConfigurationBuilder().build())) {
            manager.defineConfiguration("c", new ConfigurationBuilder().build());
            Cache<String, String> cache = manager.getCache("c");
            cache.put("before", "pool-a:READY:1");
            CacheIndexes<String> indexes = CacheIndexes.of(cache, CacheIndexTest::version);
            CacheIndex<String> ready = indexes.index(CacheIndexTest::readyPool);
            indexes.start();
            assertThat(ready.get("pool-a")).containsExactly("before");

            cache.put("d1", "pool-a:READY:1");
            cache.putIfAbsent("d2", "pool-b:READY:1");
            assertThat(ready.get("pool-a")).containsExactlyInAnyOrder("before", "d1");
            assertThat(ready.get("pool-b")).containsExactly("d2");

            assertThat(cache.replace("d1", "pool-a:READY:1", "pool-a:ASSIGNED:2")).isTrue();
            assertThat(ready.get("pool-a")).containsExactly("before");
            cache.remove("before");
            assertThat(ready.size("pool-a")).isZero();
            cache.put("d1", "pool-b:READY:3");
            assertThat(ready.get("pool-b")).containsExactlyInAnyOrder("d1", "d2");
        }
    }

    @Test
    void lateEventsDoNotTakeAnEntryBack() throws Exception {
        try (DefaultCacheManager manager = new DefaultCacheManager(new GlobalConfigurationBuilder().build())) {
            manager.defineConfiguration("c", new ConfigurationBuilder().build());
            CacheIndexes<String> indexes = CacheIndexes.of(manager.getCache("c"), CacheIndexTest::version);
            CacheIndex<String> byState = indexes.index(v -> v.split(":")[1]);
            List<String> followed = new ArrayList<>();
            indexes.follow((key, value) -> followed.add(key + "=" + value));
            indexes.start();

            // the events of s1's three writes, the first one last
            indexes.changed("s1", "pool:QUEUED:2", null);
            indexes.changed("s1", "pool:READY:3", null);
            indexes.changed("s1", "pool:ARRIVING:1", null);
            assertThat(byState.get("READY")).containsExactly("s1");
            assertThat(byState.size("ARRIVING")).isZero();
            indexes.changed("s1", "pool:READY:3", null); // the same write twice (the first read and its event)
            assertThat(byState.get("READY")).containsExactly("s1");

            // s2 is removed; its removal overtakes the event of its last write
            indexes.changed("s2", "pool:QUEUED:1", null);
            indexes.changed("s2", null, "pool:ENDED:2");
            indexes.changed("s2", "pool:ENDED:2", null);
            assertThat(byState.size("QUEUED")).isZero();
            assertThat(byState.size("ENDED")).isZero();
            assertThat(followed).containsExactly("s1=pool:QUEUED:2", "s1=pool:READY:3", "s1=pool:READY:3",
                    "s2=pool:QUEUED:1", "s2=null");

            // written again under its key with a higher version, it is indexed again
            indexes.changed("s2", "pool:READY:3", null);
            assertThat(byState.get("READY")).containsExactlyInAnyOrder("s1", "s2");
        }
    }

    @Test
    void aRemovalWithoutItsValueHoldsOffEveryEventForAWhile() throws Exception {
        try (DefaultCacheManager manager = new DefaultCacheManager(new GlobalConfigurationBuilder().build())) {
            manager.defineConfiguration("c", new ConfigurationBuilder().build());
            CacheIndexes<String> indexes = CacheIndexes.of(manager.getCache("c"), CacheIndexTest::version);
            AtomicLong now = new AtomicLong();
            indexes.nanoTime = now::get;
            CacheIndex<String> byState = indexes.index(v -> v.split(":")[1]);
            indexes.start();

            indexes.changed("d1", "pool:READY:4", null);
            indexes.changed("d1", null, null);
            indexes.changed("d1", "pool:READY:9", null);
            assertThat(byState.size("READY")).as("held off: its version could be anything").isZero();

            now.addAndGet(CacheIndexes.REMOVED_KEPT.toNanos() + 1);
            indexes.changed("other", "pool:QUEUED:1", null); // any change forgets the old removals
            indexes.changed("d1", "pool:READY:1", null);
            assertThat(byState.get("READY")).as("a new entry under the key, after the removal was forgotten")
                    .containsExactly("d1");
        }
    }

    /** Values here are "pool:STATE:order:version"; a QUEUED one is in its pool's index. */
    private static String queuedPool(String value) {
        String[] parts = value.split(":");
        return parts[1].equals("QUEUED") ? parts[0] : null;
    }

    private static long order(String value) {
        return Long.parseLong(value.split(":")[2]);
    }

    @Test
    void anOrderedIndexWalksItsEntriesInOrderAsTheyMove() throws Exception {
        try (DefaultCacheManager manager = new DefaultCacheManager(new GlobalConfigurationBuilder().build())) {
            manager.defineConfiguration("c", new ConfigurationBuilder().build());
            CacheIndexes<String> indexes = CacheIndexes.of(manager.getCache("c"), CacheIndexTest::version);
            CacheIndex<String> bySeen = indexes.ordered(CacheIndexTest::queuedPool, CacheIndexTest::order);
            CacheIndex<String> byTicket = indexes.index(CacheIndexTest::queuedPool, CacheIndexTest::order);
            indexes.start();

            indexes.changed("s1", "a:QUEUED:30:1", null);
            indexes.changed("s2", "a:QUEUED:10:1", null);
            indexes.changed("s3", "a:QUEUED:20:1", null);
            indexes.changed("s4", "a:READY:5:1", null);
            assertThat(bySeen.inOrder("a")).containsExactly("s2", "s3", "s1");
            assertThat(bySeen.inOrderBelow("a", 25)).containsExactly("s2", "s3");
            assertThat(bySeen.inOrderBelow("a", 10)).isEmpty();
            assertThat(byTicket.countBelow("a", 25)).isEqualTo(2);
            assertThat(bySeen.countBelow("a", 25)).as("not counted").isZero();

            // s2 moves to the end of the order, s3 leaves the index, s1 goes to another index key
            indexes.changed("s2", "a:QUEUED:40:2", null);
            assertThat(bySeen.inOrder("a")).containsExactly("s3", "s1", "s2");
            indexes.changed("s3", "a:READY:20:2", null);
            indexes.changed("s1", "b:QUEUED:30:2", null);
            assertThat(bySeen.inOrder("a")).containsExactly("s2");
            assertThat(bySeen.inOrder("b")).containsExactly("s1");
            assertThat(byTicket.countBelow("a", 100)).isEqualTo(1);
            assertThat(byTicket.countBelow("b", 100)).isEqualTo(1);
            indexes.changed("s1", null, "b:QUEUED:30:2");
            assertThat(bySeen.inOrder("b")).isEmpty();
            assertThat(bySeen.inOrder("none")).isEmpty();

            // a walk takes what it needs and never fails on a change made while it goes
            for (int i = 0; i < 100; i++) {
                indexes.changed("q" + i, "c:QUEUED:" + (1000 + i) + ":1", null);
            }
            var walk = bySeen.inOrder("c").iterator();
            assertThat(walk.next()).isEqualTo("q0");
            indexes.changed("q1", null, "c:QUEUED:1001:1");
            indexes.changed("first", "c:QUEUED:1:1", null);
            List<String> rest = new ArrayList<>();
            walk.forEachRemaining(rest::add);
            rest.remove("q1"); // weakly consistent: the walk may have held it already
            assertThat(rest).containsExactlyElementsOf(
                    java.util.stream.IntStream.range(2, 100).mapToObj(i -> "q" + i).toList());
            assertThat(bySeen.inOrder("c").iterator().next()).isEqualTo("first");
        }
    }
}
