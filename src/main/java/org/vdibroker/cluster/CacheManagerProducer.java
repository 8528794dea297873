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
import java.util.Base64;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.infinispan.configuration.cache.CacheMode;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.global.GlobalConfiguration;
import org.infinispan.configuration.parsing.ConfigurationBuilderHolder;
import org.infinispan.configuration.parsing.ParserRegistry;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.remoting.transport.jgroups.JGroupsChannelConfigurator;
import org.infinispan.remoting.transport.jgroups.JGroupsTransport;
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
            ConfigurationBuilderHolder holder = new ParserRegistry().parseFile(config.cluster().config());
            encryptClusterTraffic(holder, config.cluster());
            manager = new DefaultCacheManager(holder, true);
            manager.defineConfiguration(CacheNames.OUTBOX_JOURNAL, outboxJournal(config));
            LOG.infof("Infinispan started from %s as %s", config.cluster().config(), manager.getAddress());
            return manager;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read Infinispan configuration " + config.cluster().config(), e);
        }
    }

    /**
     * With a clustered configuration, puts SYM_ENCRYPT keyed with {@code broker.cluster.key} into the JGroups stack
     * the XML chose; refuses to start without a key unless {@code broker.cluster.unencrypted} says so.
     */
    static void encryptClusterTraffic(ConfigurationBuilderHolder holder, BrokerConfig.Cluster cluster) {
        GlobalConfiguration global = holder.getGlobalConfigurationBuilder().build();
        if (global.transport().transport() == null) {
            return; // local: no cluster traffic
        }
        if (cluster.key().isEmpty()) {
            if (!cluster.unencrypted()) {
                throw new IllegalStateException("A clustered node needs broker.cluster.key (the same base64 AES key on"
                        + " every node, e.g. `openssl rand -base64 32`), or broker.cluster.unencrypted=true to send"
                        + " cluster traffic in clear text");
            }
            LOG.warn("Cluster traffic is NOT encrypted (broker.cluster.unencrypted=true): anything that reaches the"
                    + " JGroups ports can join the cluster and read or change sessions");
            return;
        }
        String stack = global.transport().stack();
        JGroupsChannelConfigurator configurator = global.transport().jgroups().configurator(stack);
        if (configurator == null) {
            throw new IllegalStateException("JGroups stack " + stack + " is not defined in " + cluster.config());
        }
        holder.getGlobalConfigurationBuilder().transport().addProperty(JGroupsTransport.CHANNEL_CONFIGURATOR,
                new EncryptedChannelConfigurator(configurator, clusterKey(cluster.key().get())));
        LOG.infof("Cluster traffic encrypted (SYM_ENCRYPT in JGroups stack %s)", stack);
    }

    private static SecretKey clusterKey(String base64) {
        byte[] key;
        try {
            key = Base64.getDecoder().decode(base64.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("broker.cluster.key is not base64");
        }
        if (key.length != 16 && key.length != 24 && key.length != 32) {
            throw new IllegalStateException("broker.cluster.key must be 16, 24 or 32 bytes, not " + key.length);
        }
        return new SecretKeySpec(key, "AES");
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
