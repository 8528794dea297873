package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.infinispan.Cache;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.Test;

/** The node-local index follows creates, changes and removals of the cache it indexes. */
class CacheIndexTest {

    @Test
    void indexFollowsTheCache() throws Exception {
        try (DefaultCacheManager manager = new DefaultCacheManager(new GlobalConfigurationBuilder().build())) {
            manager.defineConfiguration("c", new ConfigurationBuilder().build());
            Cache<String, String> cache = manager.getCache("c");
            cache.put("before", "pool-a:READY");
            CacheIndex<String> ready = CacheIndex.attach(cache, v -> v.endsWith(":READY") ? v.split(":")[0] : null);
            assertThat(ready.get("pool-a")).containsExactly("before");

            cache.put("d1", "pool-a:READY");
            cache.putIfAbsent("d2", "pool-b:READY");
            assertThat(ready.get("pool-a")).containsExactlyInAnyOrder("before", "d1");
            assertThat(ready.get("pool-b")).containsExactly("d2");

            assertThat(cache.replace("d1", "pool-a:READY", "pool-a:ASSIGNED")).isTrue();
            assertThat(ready.get("pool-a")).containsExactly("before");
            cache.remove("before");
            assertThat(ready.size("pool-a")).isZero();
            cache.put("d1", "pool-b:READY");
            assertThat(ready.get("pool-b")).containsExactlyInAnyOrder("d1", "d2");
        }
    }
}
