package org.vdibroker.cluster;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
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
            LOG.infof("Infinispan started from %s as %s", config.cluster().config(), manager.getAddress());
            return manager;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read Infinispan configuration " + config.cluster().config(), e);
        }
    }

    void stop(@Observes ShutdownEvent event) {
        if (manager != null) {
            manager.stop();
        }
    }
}
