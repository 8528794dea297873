package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.UUID;
import org.infinispan.Cache;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.remoting.transport.Address;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * On a three-node cluster of the broker's shape, the keys a node picks for itself (a new session's id) have their
 * primary copy on that node, so writing them costs one copy to the backup.
 */
class LocalKeysTest {

    private static List<DefaultCacheManager> nodes = List.of();

    @BeforeAll
    static void startThreeNodes() throws Exception {
        nodes = EmbeddedCacheNodes.start("local-keys-test", 3, CacheNames.SESSIONS);
    }

    @AfterAll
    static void stop() {
        nodes.forEach(DefaultCacheManager::stop);
    }

    @Test
    void freshKeysArePrimaryOnTheNodeThatMadeThem() {
        for (DefaultCacheManager node : nodes) {
            Cache<String, String> sessions = node.getCache(CacheNames.SESSIONS);
            Address self = node.getAddress();
            for (int i = 0; i < 200; i++) {
                String key = LocalKeys.fresh(sessions, () -> UUID.randomUUID().toString());
                // 32 tries at 1/3 each: a key owned elsewhere comes about once in 400,000 calls
                assertThat(primaryOf(sessions, key)).as("primary owner of %s", key).isEqualTo(self);
                assertThat(LocalKeys.primaryHere(sessions).test(key)).isTrue();
            }
        }
    }

    @Test
    void aValueIsPickedByTheKeyItIsStoredUnder() {
        DefaultCacheManager node = nodes.get(1);
        Cache<String, String> sessions = node.getCache(CacheNames.SESSIONS);
        for (int i = 0; i < 100; i++) {
            // as a connection ticket is stored under its hash: the value is returned, its key is local
            String value = LocalKeys.fresh(sessions, () -> UUID.randomUUID().toString(), v -> "hash-of:" + v);
            assertThat(primaryOf(sessions, "hash-of:" + value)).isEqualTo(node.getAddress());
        }
    }

    @Test
    void aKeyOwnedElsewhereIsNotTakenForLocal() {
        Cache<String, String> first = nodes.get(0).getCache(CacheNames.SESSIONS);
        int elsewhere = 0;
        for (int i = 0; i < 300; i++) {
            String key = UUID.randomUUID().toString();
            boolean here = LocalKeys.primaryHere(first).test(key);
            assertThat(here).isEqualTo(primaryOf(first, key).equals(nodes.get(0).getAddress()));
            elsewhere += here ? 0 : 1;
        }
        assertThat(elsewhere).as("random keys are mostly owned by the two other nodes").isBetween(150, 250);
    }

    private static Address primaryOf(Cache<String, String> cache, String key) {
        return cache.getAdvancedCache().getDistributionManager().getCacheTopology().getDistribution(key).primary();
    }
}
