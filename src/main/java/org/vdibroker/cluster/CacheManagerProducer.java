package org.vdibroker.cluster;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;

/** Starts the embedded Infinispan cache manager from the XML file named in {@code broker.cluster.config}. */
@ApplicationScoped
public class CacheManagerProducer {

    private static final Logger LOG = Logger.getLogger(CacheManagerProducer.class);

    private EmbeddedCacheManager manager;

    // @Startup: join the cluster when the node starts, not on the first request (which may be a probe on an event loop)
    @Produces
    @Singleton
    @Startup
    EmbeddedCacheManager cacheManager(BrokerConfig config) {
        try {
            manager = new DefaultCacheManager(config.cluster().config(), true);
            manager.defineConfiguration(CacheNames.OUTBOX_JOURNAL, outboxJournal(config));
            LOG.infof("Infinispan started from %s as %s", config.cluster().config(), manager.getAddress());
            return manager;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read Infinispan configuration " + config.cluster().config(), e);
        }
    }

    /**
     * The node's own copy of the outbox entries it holds: a local cache in a soft-index file store under the data
     * directory (not in the XML, since that path is a Quarkus key). Without {@code broker.outbox.durable} it stays in
     * memory, as in tests whose database does not outlive them either.
     */
    private static org.infinispan.configuration.cache.Configuration outboxJournal(BrokerConfig config) {
        ConfigurationBuilder journal = new ConfigurationBuilder();
        journal.clustering().cacheMode(CacheMode.LOCAL);
        if (config.outbox().durable()) {
            Path dir = Path.of(config.dataDir(), "outbox-journal").toAbsolutePath();
            journal.persistence().addSoftIndexFileStore()
                    .dataLocation(dir.resolve("data").toString())
                    .indexLocation(dir.resolve("index").toString());
        }
        return journal.build();
    }

    void stop(@Observes ShutdownEvent event) {
        if (manager != null) {
            manager.stop();
        }
    }
}
