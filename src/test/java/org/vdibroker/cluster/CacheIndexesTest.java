package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.infinispan.Cache;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.factories.ComponentRegistry;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.notifications.cachelistener.CacheNotifier;
import org.junit.jupiter.api.Test;

/** Several indexes of one cache share one listener, and each still follows every change. */
class CacheIndexesTest {

    @Test
    void indexesOfOneCacheShareOneListener() throws Exception {
        try (DefaultCacheManager manager = new DefaultCacheManager(new GlobalConfigurationBuilder().build())) {
            manager.defineConfiguration("c", new ConfigurationBuilder().build());
            Cache<String, String> cache = manager.getCache("c");
            cache.put("before", "pool-a:READY:1");
            int listenersBefore = listeners(cache);

            CacheIndexes<String> indexes = CacheIndexes.of(cache, v -> Long.parseLong(v.split(":")[2]));
            CacheIndex<String> byPool = indexes.index(v -> v.split(":")[0]);
            CacheIndex<String> byState = indexes.index(v -> v.split(":")[1]);
            List<String> seen = new ArrayList<>();
            indexes.follow((key, value) -> seen.add(key + "=" + value));
            indexes.start();

            assertThat(listeners(cache)).isEqualTo(listenersBefore + 1);
            assertThat(byPool.get("pool-a")).containsExactly("before");
            cache.put("d1", "pool-b:READY:1");
            cache.put("before", "pool-a:ASSIGNED:2");
            cache.remove("d1");
            assertThat(byPool.get("pool-a")).containsExactly("before");
            assertThat(byPool.size("pool-b")).isZero();
            assertThat(byState.get("ASSIGNED")).containsExactly("before");
            assertThat(byState.size("READY")).isZero();
            assertThat(seen).containsExactly("before=pool-a:READY:1", "d1=pool-b:READY:1", "before=pool-a:ASSIGNED:2",
                    "d1=null");
            assertThatThrownBy(() -> indexes.index(v -> v)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void oneFailingFollowerDoesNotStopTheOthers() throws Exception {
        try (DefaultCacheManager manager = new DefaultCacheManager(new GlobalConfigurationBuilder().build())) {
            manager.defineConfiguration("c", new ConfigurationBuilder().build());
            Cache<String, String> cache = manager.getCache("c");
            CacheIndexes<String> indexes = CacheIndexes.of(cache, v -> Long.parseLong(v.split(":")[2]));
            indexes.follow((key, value) -> {
                throw new IllegalStateException("broken follower");
            });
            CacheIndex<String> byPool = indexes.index(v -> v.split(":")[0]);
            indexes.start();
            cache.put("d1", "pool-a:READY:1");
            assertThat(byPool.get("pool-a")).containsExactly("d1");
            assertThat(byPool.any("pool-a")).isEqualTo("d1");
            assertThat(byPool.any("pool-b")).isNull();
        }
    }

    private static int listeners(Cache<?, ?> cache) {
        return ComponentRegistry.componentOf(cache, CacheNotifier.class).getListeners().size();
    }
}
