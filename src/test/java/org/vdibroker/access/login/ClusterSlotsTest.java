package org.vdibroker.access.login;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.infinispan.AdvancedCache;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Leased slots on a real Infinispan cache with a clock the test moves; two ClusterSlots on one cache stand for two
 * nodes (the two-node cluster is UserLimitsClusterTest's).
 */
class ClusterSlotsTest {

    private static final Duration LEASE = Duration.ofSeconds(30);

    private DefaultCacheManager manager;
    private AdvancedCache<String, HashMap<String, Long>> cache;
    private final AtomicLong now = new AtomicLong(1_000_000);

    @BeforeEach
    void start() {
        manager = new DefaultCacheManager(new GlobalConfigurationBuilder().nonClusteredDefault().build());
        manager.defineConfiguration("slots", new ConfigurationBuilder().build());
        cache = manager.<String, HashMap<String, Long>>getCache("slots").getAdvancedCache();
    }

    @AfterEach
    void stop() {
        manager.stop();
    }

    private ClusterSlots node() {
        return new ClusterSlots(cache, "stream", 2, LEASE, now::get);
    }

    @Test
    void slotsOfTwoNodesCountTogetherPerKeyAndAReleaseFreesOne() {
        ClusterSlots a = node();
        ClusterSlots b = node();
        assertThat(a.tryTake("alice", "s1", 0)).isTrue();
        assertThat(b.tryTake("alice", "s2", 0)).isTrue();
        assertThat(a.tryTake("alice", "s3", 1)).isFalse();
        assertThat(b.tryTake("bob", "s4", 0)).isTrue(); // another key is not affected
        b.release("alice", "s2");
        assertThat(a.tryTake("alice", "s3", 1)).isTrue();
        a.release("alice", "s1");
        a.release("alice", "s3");
        assertThat(cache.containsKey("stream|alice")).as("an empty entry is removed").isFalse();
    }

    @Test
    void unrenewedSlotsLapseAfterTheirLeaseAndRenewedOnesKeepCounting() {
        ClusterSlots dying = node();
        ClusterSlots living = node();
        assertThat(dying.tryTake("alice", "d1", 0)).isTrue();
        assertThat(living.tryTake("alice", "l1", 0)).isTrue();
        now.addAndGet(LEASE.toMillis() - 1);
        living.renew("alice", List.of("l1"));
        assertThat(living.tryTake("alice", "l2", 1)).as("d1 still counts within its lease").isFalse();
        now.addAndGet(2);
        assertThat(living.tryTake("alice", "l2", 1)).as("d1 lapsed; l1 was renewed").isTrue();
        assertThat(living.tryTake("alice", "l3", 2)).isFalse();
    }

    @Test
    void aRenewalPutsBackSlotsTheCacheLost() {
        ClusterSlots a = node();
        assertThat(a.tryTake("alice", "s1", 0)).isTrue();
        assertThat(a.tryTake("alice", "s2", 1)).isTrue();
        cache.clear(); // the entry's owners died
        a.renew("alice", List.of("s1", "s2"));
        assertThat(node().tryTake("alice", "s3", 0)).isFalse();
    }

    @Test
    void withoutTheCacheANodeCountsItsOwnSlots() {
        ClusterSlots a = node();
        manager.stop();
        assertThat(a.tryTake("alice", "s1", 1)).isTrue();
        assertThat(a.tryTake("alice", "s2", 2)).isFalse();
        a.release("alice", "s1"); // does not throw
    }
}
