package org.vdibroker.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.Serializable;
import java.nio.file.Path;
import org.infinispan.Cache;
import org.infinispan.commons.marshall.JavaSerializationMarshaller;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outbox journal on its own, with Infinispan's soft-index file store in a temporary directory: what waits in
 * the outbox is on disk, what was written (removed) is not, and a node started again puts the rest back.
 */
class OutboxJournalTest {

    @TempDir
    Path dir;

    @Test
    void entriesStillWaitingAreBackInTheOutboxAfterARestart() throws Exception {
        try (DefaultCacheManager node = start()) {
            Cache<String, Serializable> outbox = node.getCache("outbox");
            new OutboxJournal(outbox, node.getCache("outbox-journal"), "node-1");
            outbox.put("audit:1", "first");
            outbox.put("audit:2", "second");
            outbox.put("desktop:a", "created");
            outbox.replace("desktop:a", "created", "created+vm"); // a folded change
            outbox.remove("audit:2", "second"); // written, so gone
        }
        try (DefaultCacheManager node = start()) {
            Cache<String, Serializable> outbox = node.getCache("outbox");
            assertThat(outbox).as("the outbox itself is memory only").isEmpty();
            OutboxJournal journal = new OutboxJournal(outbox, node.getCache("outbox-journal"), "node-1");
            assertThat(journal.replayOnce()).isEqualTo(2);
            assertThat(outbox).containsOnlyKeys("audit:1", "desktop:a").containsEntry("desktop:a", "created+vm");
            assertThat(journal.replayOnce()).as("once per start").isZero();
            outbox.remove("audit:1");
        }
        try (DefaultCacheManager node = start()) {
            Cache<String, Serializable> outbox = node.getCache("outbox");
            new OutboxJournal(outbox, node.getCache("outbox-journal"), "node-1").replayOnce();
            assertThat(outbox).containsOnlyKeys("desktop:a");
        }
    }

    @Test
    void aDifferentCopyOfAnEntryAlreadyBackIsKeptUnderASecondKey() throws Exception {
        try (DefaultCacheManager node = start()) {
            Cache<String, Serializable> outbox = node.getCache("outbox");
            new OutboxJournal(outbox, node.getCache("outbox-journal"), "node-1");
            outbox.put("desktop:a", "created");
        }
        try (DefaultCacheManager node = start()) {
            Cache<String, Serializable> outbox = node.getCache("outbox");
            outbox.put("desktop:a", "created+vm"); // another node put back its newer copy first
            new OutboxJournal(outbox, node.getCache("outbox-journal"), "node-1").replayOnce();
            assertThat(outbox).containsEntry("desktop:a", "created+vm")
                    .containsEntry("desktop:a" + OutboxJournal.REPLAYED + "node-1", "created");
        }
    }

    private DefaultCacheManager start() {
        GlobalConfigurationBuilder global = new GlobalConfigurationBuilder().nonClusteredDefault();
        global.serialization().marshaller(new JavaSerializationMarshaller()).allowList().addRegexps("java\\..*");
        DefaultCacheManager manager = new DefaultCacheManager(global.build());
        manager.defineConfiguration("outbox", new ConfigurationBuilder().build());
        ConfigurationBuilder journal = new ConfigurationBuilder();
        journal.persistence().addSoftIndexFileStore().dataLocation(dir.resolve("data").toString())
                .indexLocation(dir.resolve("index").toString());
        manager.defineConfiguration("outbox-journal", journal.build());
        return manager;
    }
}
