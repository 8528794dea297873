package org.vdibroker.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.infinispan.Cache;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vdibroker.audit.AuditEvent;
import org.vdibroker.cluster.ClusterMarshaller;
import org.vdibroker.cluster.ClusterMarshaller.Format;

/**
 * The outbox journal on its own, with Infinispan's soft-index file store in a temporary directory: what waits in
 * the outbox is on disk, what was written (removed) is not, and a node started again puts the rest back. A write to
 * the outbox never waits for the disk, and a graceful stop leaves nothing noted unwritten.
 */
class OutboxJournalTest {

    @TempDir
    Path dir;

    @Test
    void entriesStillWaitingAreBackInTheOutboxAfterARestart() throws Exception {
        try (Node node = new Node()) {
            OutboxJournal journal = node.journal();
            node.outbox.put("audit:1", "first");
            node.outbox.put("audit:2", "second");
            node.outbox.put("desktop:a", "created");
            node.outbox.replace("desktop:a", "created", "created+vm"); // a folded change
            node.outbox.remove("audit:2", "second"); // written, so gone
            journal.close(); // a graceful stop
        }
        try (Node node = new Node()) {
            assertThat(node.outbox).as("the outbox itself is memory only").isEmpty();
            OutboxJournal journal = node.journal();
            assertThat(journal.replayOnce()).isEqualTo(2);
            assertThat(node.outbox).containsOnlyKeys("audit:1", "desktop:a").containsEntry("desktop:a", "created+vm");
            assertThat(journal.replayOnce()).as("once per start").isZero();
            node.outbox.remove("audit:1");
            journal.close();
        }
        try (Node node = new Node()) {
            OutboxJournal journal = node.journal();
            journal.replayOnce();
            assertThat(node.outbox).containsOnlyKeys("desktop:a");
            journal.close();
        }
    }

    /**
     * The move from Java serialization to ProtoStream (operations.md, "Upgrades"): entries a node journaled before it
     * are read after it, and a node set back to writing Java serialization reads the newer entries too.
     */
    @Test
    void entriesJournaledInJavaSerializationAreReadAfterTheMoveToProtoStream() throws Exception {
        Instant at = Instant.parse("2026-12-07T09:00:00.123456789Z");
        AuditEvent before = new AuditEvent("a-1", at, "session.opened", "alice", "pool-a", "d-1", "s-1", null);
        AuditEvent after = new AuditEvent("a-2", at.plusNanos(1), "session.ended", "alice", "pool-a", "d-1", "s-1",
                "logoff");
        try (Node node = new Node(Format.JAVA)) {
            OutboxJournal journal = node.journal();
            node.outbox.put("audit:a-1", before);
            journal.close();
        }
        assertThat(journalHolds("org.vdibroker.audit.AuditEvent")).as("written as Java serialization").isTrue();
        try (Node node = new Node(Format.PROTOSTREAM)) {
            OutboxJournal journal = node.journal();
            assertThat(journal.replayOnce()).isEqualTo(1);
            assertThat(node.outbox).containsEntry("audit:a-1", before);
            node.outbox.put("audit:a-2", after);
            journal.close();
        }
        try (Node node = new Node(Format.JAVA)) {
            OutboxJournal journal = node.journal();
            assertThat(journal.replayOnce()).isEqualTo(2);
            assertThat(node.outbox).containsEntry("audit:a-1", before).containsEntry("audit:a-2", after);
            journal.close();
        }
    }

    private boolean journalHolds(String text) throws java.io.IOException {
        try (var files = java.nio.file.Files.walk(dir)) {
            for (Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
                if (new String(java.nio.file.Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1)
                        .contains(text)) {
                    return true;
                }
            }
        }
        return false;
    }

    @Test
    void aDifferentCopyOfAnEntryAlreadyBackIsKeptUnderASecondKey() throws Exception {
        try (Node node = new Node()) {
            OutboxJournal journal = node.journal();
            node.outbox.put("desktop:a", "created");
            journal.close();
        }
        try (Node node = new Node()) {
            node.outbox.put("desktop:a", "created+vm"); // another node put back its newer copy first
            OutboxJournal journal = node.journal();
            journal.replayOnce();
            assertThat(node.outbox).containsEntry("desktop:a", "created+vm")
                    .containsEntry("desktop:a" + OutboxJournal.REPLAYED + "node-1", "created");
            journal.close();
        }
    }

    @Test
    void aWriteToTheOutboxDoesNotWaitForTheDisk() throws Exception {
        CountDownLatch diskBusy = new CountDownLatch(1);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        writer.execute(() -> await(diskBusy)); // the journal thread stands for a disk that does not answer
        try (Node node = new Node()) {
            OutboxJournal journal = node.journal(writer);
            CompletableFuture<Void> writes = CompletableFuture.runAsync(() -> {
                node.outbox.put("audit:1", "first");
                node.outbox.put("audit:2", "second");
                node.outbox.remove("audit:2");
            });
            writes.get(5, TimeUnit.SECONDS); // returns though the journal thread is stuck
            assertThat(node.disk).as("not on disk yet").isEmpty();
            assertThat(journal.lag()).as("the change waits").isPositive();

            diskBusy.countDown();
            journal.awaitWritten(Duration.ofSeconds(5));
            assertThat(node.disk).containsOnlyKeys("audit:1");
            assertThat(journal.lag()).isZero();
            journal.close();
        } finally {
            diskBusy.countDown();
            writer.shutdownNow();
        }
    }

    @Test
    void theJournalEndsAsTheOutboxEndsWhateverTheOrderOfChangesAndRounds() throws Exception {
        try (Node node = new Node()) {
            OutboxJournal journal = node.journal();
            // four threads put, fold and remove the same 50 keys (put-then-remove of one key again and again) while
            // reconcile rounds run, as the outbox's writers, its flusher and its scheduler do
            ExecutorService threads = Executors.newFixedThreadPool(4);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                done.add(threads.submit(() -> {
                    Random random = new Random(seed);
                    for (int i = 0; i < 3000; i++) {
                        String key = "k" + random.nextInt(50);
                        switch (random.nextInt(3)) {
                            case 0 -> node.outbox.put(key, "v" + i);
                            case 1 -> node.outbox.computeIfPresent(key, (k, v) -> v + "+");
                            default -> node.outbox.remove(key);
                        }
                        if (i % 500 == 0) {
                            journal.reconcile();
                        }
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            threads.shutdown();
            journal.awaitWritten(Duration.ofSeconds(10));
            assertThat(new HashMap<>(node.disk)).as("the journal holds exactly what waits")
                    .isEqualTo(new HashMap<>(node.outbox));
            journal.close();
        }
    }

    @Test
    void aChangeIsOnDiskMomentsAfterTheWriteReturned() throws Exception {
        try (Node node = new Node()) {
            OutboxJournal journal = node.journal();
            long[] nanos = new long[300];
            for (int i = 0; i < nanos.length; i++) {
                String key = "audit:" + i;
                long start = System.nanoTime();
                node.outbox.put(key, "event " + i);
                while (!node.disk.containsKey(key)) {
                    Thread.onSpinWait();
                    assertThat(System.nanoTime() - start).as("%s on disk", key).isLessThan(5_000_000_000L);
                }
                nanos[i] = System.nanoTime() - start;
            }
            java.util.Arrays.sort(nanos);
            // the window a kill -9 can lose on a node (operations/failures.md states it)
            System.out.printf("OutboxJournalTest: from outbox write to journal, median %d us, 99th percentile %d us,"
                    + " max %d us%n", nanos[nanos.length / 2] / 1000, nanos[nanos.length * 99 / 100] / 1000,
                    nanos[nanos.length - 1] / 1000);
            journal.close();
        }
    }

    @Test
    void aGracefulStopWritesEveryChangeNotedBeforeIt() throws Exception {
        CountDownLatch diskBusy = new CountDownLatch(1);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        writer.execute(() -> await(diskBusy));
        try (Node node = new Node()) {
            OutboxJournal journal = node.journal(writer);
            for (int i = 0; i < 200; i++) {
                node.outbox.put("audit:" + i, "event " + i);
            }
            diskBusy.countDown();
            journal.close(); // right away, as on SIGTERM: the noted changes are written before the manager stops
        }
        try (Node node = new Node()) {
            OutboxJournal journal = node.journal();
            assertThat(journal.replayOnce()).isEqualTo(200);
            journal.close();
        }
    }

    /**
     * After a restart an entry is only on disk. Replayed and then written to the database before the journal thread
     * got to it, its put and remove fold into one remove, which must still delete it from the disk; a remove that
     * skipped reading the store first left it there, to be replayed after every later restart.
     */
    @Test
    void anEntryReplayedAndWrittenBeforeTheJournalThreadRanIsGoneFromTheDisk() throws Exception {
        try (Node node = new Node()) {
            OutboxJournal journal = node.journal();
            node.outbox.put("audit:1", "first");
            node.outbox.put("desktop:a", "created");
            journal.close();
        }
        CountDownLatch diskBusy = new CountDownLatch(1);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        writer.execute(() -> await(diskBusy));
        try (Node node = new Node()) {
            OutboxJournal journal = node.journal(writer);
            assertThat(journal.replayOnce()).isEqualTo(2);
            node.outbox.remove("audit:1"); // written to the database while the journal thread is still busy
            diskBusy.countDown();
            journal.close();
        }
        try (Node node = new Node()) {
            OutboxJournal journal = node.journal();
            journal.replayOnce();
            assertThat(node.outbox).containsOnlyKeys("desktop:a");
            journal.close();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One start of a node: its cache manager, the in-memory outbox and the journal's file store in {@link #dir}. */
    private final class Node implements AutoCloseable {
        final DefaultCacheManager manager;
        final Cache<String, Serializable> outbox;
        final Cache<String, Serializable> disk;

        Node() {
            this(Format.PROTOSTREAM);
        }

        Node(Format writes) {
            manager = start(writes);
            outbox = manager.getCache("outbox");
            disk = manager.getCache("outbox-journal");
        }

        OutboxJournal journal() {
            return new OutboxJournal(outbox, disk, "node-1");
        }

        OutboxJournal journal(ExecutorService writer) {
            return new OutboxJournal(outbox, disk, "node-1", writer);
        }

        @Override
        public void close() {
            manager.stop();
        }
    }

    private DefaultCacheManager start(Format writes) {
        GlobalConfigurationBuilder global = new GlobalConfigurationBuilder().nonClusteredDefault();
        global.serialization().marshaller(new ClusterMarshaller(writes)).allowList()
                .addRegexps("java\\..*", "org\\.vdibroker\\..*");
        DefaultCacheManager manager = new DefaultCacheManager(global.build());
        manager.defineConfiguration("outbox", new ConfigurationBuilder().build());
        ConfigurationBuilder journal = new ConfigurationBuilder();
        journal.persistence().addSoftIndexFileStore().dataLocation(dir.resolve("data").toString())
                .indexLocation(dir.resolve("index").toString());
        manager.defineConfiguration("outbox-journal", journal.build());
        return manager;
    }
}
