package org.vdibroker.desktop;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.infinispan.Cache;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.context.Flag;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.CacheIndexes;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.testsupport.SettableClock;

/**
 * The pool manager's index of desktops that need work: what an idle tick looks at instead of every desktop, so it
 * must follow every change, and a full read must repair it when a change was missed.
 */
class DesktopWorkTest {

    private static final Instant NOW = Instant.parse("2026-12-04T12:00:00Z");

    private DefaultCacheManager manager;
    private Cache<String, DesktopState> cache;
    private DesktopWork work;

    @BeforeEach
    void start() {
        manager = new DefaultCacheManager();
        manager.defineConfiguration("desktops", new ConfigurationBuilder().build());
        cache = manager.getCache("desktops");
        CacheIndexes<DesktopState> indexes = CacheIndexes.of(cache, DesktopState::version);
        work = DesktopWork.attach(cache, indexes);
        indexes.start();
    }

    @AfterEach
    void stop() throws Exception {
        manager.close();
    }

    @Test
    void figuresFollowEveryChangeOfADesktop() {
        DesktopState provisioning = desktop("d1", DesktopStatus.PROVISIONING, null, new TaskRef("hv1", "t1", null));
        cache.put("d1", provisioning);
        assertThat(work.of("p").work).containsExactly("d1");
        assertThat(work.of("p").counted.get()).isEqualTo(1);
        assertThat(work.of("p").byStatus).containsExactly(java.util.Map.entry(DesktopStatus.PROVISIONING, 1));
        assertThat(work.onHypervisors("p", List.of("hv1", "hv2"))).as("found by its hypervisor").containsExactly("d1");
        assertThat(work.onHypervisors("p", List.of("hv2"))).isEmpty();

        DesktopState ready = next(provisioning, DesktopStatus.READY, null, NOW);
        cache.put("d1", ready);
        assertThat(work.of("p").work).as("a ready desktop needs no work").isEmpty();
        assertThat(work.of("p").held.get()).isZero();
        assertThat(work.anyUnused("p", (hv, publication) -> publication < 2)).as("outdated and unused").isTrue();

        DesktopState claimed = next(ready, DesktopStatus.ASSIGNED, "s1", NOW.minusSeconds(60));
        cache.put("d1", claimed);
        assertThat(work.of("p").held.get()).isEqualTo(1);
        cache.put("d2", desktop("d2", DesktopStatus.READY, null, null));
        assertThat(work.of("p").byStatus).containsOnly(java.util.Map.entry(DesktopStatus.ASSIGNED, 1),
                java.util.Map.entry(DesktopStatus.READY, 1));
        cache.remove("d2");
        assertThat(work.anyUnused("p", (hv, publication) -> true)).as("held by a session").isFalse();
        assertThat(work.claims("p", NOW.minusSeconds(600), NOW.minusSeconds(30))).containsExactly("d1");
        assertThat(work.claims("p", NOW.minusSeconds(600), NOW.minusSeconds(120))).as("too recent").isEmpty();
        assertThat(work.claims("p", NOW, NOW)).as("too old").isEmpty();
        assertThat(work.of("p").claims).as("a claim older than the window is dropped").isEmpty();

        cache.put("d1", next(claimed, DesktopStatus.FAILED, null, NOW));
        assertThat(work.of("p").work).containsExactly("d1");
        assertThat(work.of("p").counted.get()).as("a failed desktop does not count").isZero();

        cache.remove("d1");
        assertThat(work.of("p").work).isEmpty();
        assertThat(work.onHypervisors("p", List.of("hv1"))).isEmpty();
        assertThat(work.of("p").byHypervisor).as("no empty sets left behind").isEmpty();
        assertThat(work.of("p").held.get()).isZero();
        assertThat(work.of("p").byStatus).as("no state of none left behind").isEmpty();
        assertThat(work.anyUnused("p", (hv, publication) -> true)).isFalse();
    }

    /**
     * A claim the orphaned-claim check confirmed (its session holds the desktop) is not returned again, so each tick
     * reads only the claims that came of age since the last one; a new write to the desktop is a new claim.
     */
    @Test
    void aConfirmedClaimIsNotCheckedAgainUntilTheDesktopIsWrittenAgain() {
        DesktopState ready = desktop("d1", DesktopStatus.READY, null, null);
        cache.put("d1", ready);
        DesktopState claimed = next(ready, DesktopStatus.ASSIGNED, "s1", NOW.minusSeconds(60));
        cache.put("d1", claimed);
        cache.put("d2", next(desktop("d2", DesktopStatus.READY, null, null), DesktopStatus.ASSIGNED, "s2",
                NOW.minusSeconds(60)));
        assertThat(work.claims("p", NOW.minusSeconds(600), NOW)).containsExactlyInAnyOrder("d1", "d2");

        work.confirmed("p", "d1", claimed.changedAt());
        assertThat(work.claims("p", NOW.minusSeconds(600), NOW)).containsExactly("d2");
        assertThat(work.claims("p", NOW.minusSeconds(600), NOW)).as("still confirmed").containsExactly("d2");

        DesktopState claimedAgain = next(claimed, DesktopStatus.ASSIGNED, "s3", NOW.minusSeconds(30));
        cache.put("d1", claimedAgain);
        assertThat(work.claims("p", NOW.minusSeconds(600), NOW)).containsExactlyInAnyOrder("d1", "d2");
        assertThat(work.of("p").confirmed).as("the old confirmation is dropped").isEmpty();
    }

    @Test
    void desktopsUnderWayKeepWhenTheyStartedAndTheirTimeToReadyMakesThePoolsProvisioningTime() {
        SettableClock clock = new SettableClock(NOW);
        work.clock = clock;
        assertThat(work.of("p").provisioningTime.seconds()).as("none made yet").isEmpty();
        DesktopState made = desktop("n1", DesktopStatus.PROVISIONING, null, new TaskRef("hv1", "t1", null));
        cache.put(made.id(), made);
        clock.set(NOW.plusSeconds(10));
        DesktopState booting = next(made, DesktopStatus.STARTING, null, clock.instant());
        cache.put(made.id(), booting);
        assertThat(work.of("p").provisioningTime.underWay()).as("still the instant it started, not when its boot did")
                .containsExactly(java.util.Map.entry("n1", NOW));
        clock.set(NOW.plusSeconds(20));
        DesktopState ready = next(booting, DesktopStatus.READY, null, clock.instant());
        cache.put(made.id(), ready);
        cache.put(made.id(), ready); // the same value again (a replayed event) is not a second completion
        assertThat(work.of("p").provisioningTime.underWay()).isEmpty();
        assertThat(work.of("p").provisioningTime.seconds().getAsDouble()).isEqualTo(20.0);

        DesktopState second = next(desktop("n2", DesktopStatus.PROVISIONING, null, null),
                DesktopStatus.PROVISIONING, null, clock.instant()); // started at +20 s
        cache.put(second.id(), second);
        clock.set(NOW.plusSeconds(50));
        cache.put(second.id(), next(second, DesktopStatus.READY, null, clock.instant()));
        assertThat(work.of("p").provisioningTime.seconds().getAsDouble()).as("the mean of 20 s and 30 s")
                .isCloseTo(25.0, org.assertj.core.data.Offset.offset(1e-9));

        // a desktop given back to the pool by a session (nothing made in between) is not a provisioning time
        DesktopState held = desktop("h", DesktopStatus.ASSIGNED, "s1", null);
        cache.put("h", held);
        cache.put("h", next(held, DesktopStatus.READY, null, NOW));
        assertThat(work.of("p").provisioningTime.seconds().getAsDouble())
                .isCloseTo(25.0, org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void aFullReadRepairsMissedEventsButNeverGoesBackInTime() {
        DesktopState a = desktop("a", DesktopStatus.READY, null, null);
        DesktopState b = desktop("b", DesktopStatus.READY, null, null);
        cache.put("a", a);
        cache.put("b", b);
        // changes the index never hears of (a lost event)
        DesktopState failed = next(a, DesktopStatus.FAILED, null, NOW);
        cache.getAdvancedCache().withFlags(Flag.SKIP_LISTENER_NOTIFICATION).put("a", failed);
        cache.getAdvancedCache().withFlags(Flag.SKIP_LISTENER_NOTIFICATION).remove("b");
        assertThat(work.of("p").work).isEmpty();
        assertThat(work.of("p").counted.get()).isEqualTo(2);

        work.resync("p", List.of(failed));
        assertThat(work.of("p").work).containsExactly("a");
        assertThat(work.of("p").counted.get()).as("b is gone, a failed").isZero();

        DesktopState retiring = next(failed, DesktopStatus.RETIRING, null, NOW);
        cache.put("a", retiring);
        work.resync("p", List.of(failed)); // a read older than the event that followed it
        assertThat(work.of("p").work).containsExactly("a");
        cache.put("a", next(retiring, DesktopStatus.READY, null, NOW));
        assertThat(work.of("p").work).as("the newer state was kept, so the next change applies").isEmpty();
        assertThat(work.of("p").counted.get()).isEqualTo(1);
    }

    @Test
    void aValueOlderThanTheOneAppliedIsDropped() {
        DesktopState ready = desktop("a", DesktopStatus.READY, null, null);
        DesktopState assigned = next(ready, DesktopStatus.ASSIGNED, "s1", NOW);
        cache.put("a", ready);
        cache.put("a", assigned);
        // what resync's look-up of a desktop it did not read can apply: a value read before the newest event came
        work.update("a", ready);
        assertThat(work.of("p").held.get()).as("still held by s1").isEqualTo(1);
        assertThat(work.of("p").claims).extracting(DesktopWork.Claim::id).containsExactly("a");
    }

    /** A node whose events come late (a busy node, a long garbage collection) measures from the values' instants. */
    @Test
    void theProvisioningTimeComesFromTheDesktopsWritesNotFromWhenThisNodeSeesThem() {
        SettableClock clock = new SettableClock(NOW.plusSeconds(8));
        work.clock = clock;
        DesktopState made = desktop("n1", DesktopStatus.PROVISIONING, null, new TaskRef("hv1", "t1", null));
        cache.put(made.id(), made); // written at NOW, seen 8 s later
        assertThat(work.of("p").provisioningTime.underWay()).containsExactly(java.util.Map.entry("n1", NOW));
        clock.set(NOW.plusSeconds(31));
        cache.put(made.id(), next(made, DesktopStatus.READY, null, NOW.plusSeconds(30)));
        assertThat(work.of("p").provisioningTime.seconds().getAsDouble()).isEqualTo(30.0);

        // a writer's clock ahead of this node's: never dated after now
        DesktopState ahead = next(desktop("n2", DesktopStatus.PROVISIONING, null, null), DesktopStatus.PROVISIONING,
                null, NOW.plusSeconds(90));
        cache.put(ahead.id(), ahead);
        assertThat(work.of("p").provisioningTime.underWay())
                .containsExactly(java.util.Map.entry("n2", NOW.plusSeconds(31)));
    }

    private static DesktopState desktop(String id, DesktopStatus status, String sessionId, TaskRef task) {
        return new DesktopState(id, "p", "hv1", "p-" + id, "vm-" + id, status, sessionId, null, null, 1, task, 0, NOW,
                1);
    }

    private static DesktopState next(DesktopState d, DesktopStatus status, String sessionId, Instant at) {
        return d.next(status, sessionId, null, null, 0, at);
    }
}
