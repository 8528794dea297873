package org.vdibroker.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.scheduler.Scheduler;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.DefinitionCache.Versioned;

/**
 * A hypervisor another node defined reaches this node's registry at its next round (every 5 s); until then a
 * desktop on it was refused with 503 "the desktop's hypervisor is not connected" (FailoverIT failed once so, with
 * the machine busy). The registry now connects a hypervisor the cluster's definitions cache holds as soon as a driver
 * for it is asked for. The other node is played by writing the cache entry it would publish.
 */
@QuarkusTest
class HypervisorDefinedElsewhereTest {

    @Inject
    HypervisorRegistry hypervisors;

    @Inject
    EmbeddedCacheManager caches;

    @Inject
    Scheduler scheduler;

    @Test
    void aHypervisorPublishedByAnotherNodeIsConnectedWhenFirstAsked() throws Exception {
        String id = "sim-elsewhere";
        Cache<String, Versioned<HypervisorCacheEntry>> published = caches.getCache(CacheNames.HYPERVISOR_DEFINITIONS);
        scheduler.pause(); // no round in between: the connect must come from the ask
        try {
            Thread.sleep(1500); // a round under way finishes
            assertThat(hypervisors.get(id)).isEmpty();
            published.put(id, new Versioned<>(1, new HypervisorCacheEntry(id, "simulator", "simulator://" + id,
                    "{\"cloneLatencyMs\":\"10\",\"bootLatencyMs\":\"10\"}", null, 64, 65536, 10, 5, 1.0, 1.0, false,
                    1)));
            assertThat(hypervisors.driver(id)).isPresent();
            assertThat(hypervisors.get(id)).hasValueSatisfying(h -> assertThat(h.driver()).isEqualTo("simulator"));
            assertThat(hypervisors.driver("sim-nowhere")).as("one no node defined").isEmpty();
        } finally {
            scheduler.resume();
        }
        // the database has no such row: the next round removes it from the cache and closes its driver
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (hypervisors.get(id).isPresent() && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertThat(hypervisors.get(id)).isEmpty();
        assertThat(published.get(id)).isNull();
    }
}
