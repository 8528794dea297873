package org.vdibroker.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Field;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.infinispan.Cache;
import org.infinispan.configuration.parsing.ConfigurationBuilderHolder;
import org.infinispan.configuration.parsing.ParserRegistry;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;
import org.vdibroker.hypervisor.simulator.SimulatorControl;
import org.vdibroker.pool.Pool;
import org.vdibroker.pool.PoolEntity;
import org.vdibroker.pool.PoolManager;
import org.vdibroker.pool.Reconciler;
import org.vdibroker.pool.SpareSchedule;
import org.vdibroker.protocol.ConnectionSettings;

/**
 * The hand-wired pool manager of benchmark 4 on a tiny steady state, in the ordinary build: a bean added to what a tick
 * calls breaks this test (not only the benchmark, which once timed ticks that all failed on a missing bean), and the
 * reconcile rounds of many pools start spread over ticks rather than all on a node's first tick.
 */
class PoolTickHarnessTest {

    private static final int POOLS = 10;

    private EmbeddedCacheManager manager;
    private PoolTickHarness harness;

    @BeforeEach
    void start() throws Exception {
        ConfigurationBuilderHolder holder = new ParserRegistry()
                .parse(PoolTickHarnessTest.class.getClassLoader().getResource("infinispan-local.xml"));
        manager = new DefaultCacheManager(holder, true);
        // the defaults: a tick every 1 s, a reconcile round of each pool every 30 s
        harness = new PoolTickHarness(manager, Map.of("broker.pool-manager.interval", "1s",
                "broker.pool-manager.reconcile-interval", "30s"), false);
        harness.addHypervisor("hv-0");
        Cache<String, DesktopState> desktops = manager.getCache(CacheNames.DESKTOPS);
        SimulatorControl simulator = new SimulatorControl(manager, Clock.systemUTC());
        Instant then = Instant.now().minusSeconds(3600);
        for (int p = 0; p < POOLS; p++) {
            String name = String.format(java.util.Locale.ROOT, "p%d-%08x", p, p); // the pool's naming
            String id = UUID.randomUUID().toString();
            desktops.put(id, new DesktopState(id, "p" + p, "hv-0", name, simulator.createVm("hv-0", name),
                    DesktopStatus.READY, null, null, null, 1, null, 0, then, 1));
            harness.addPool(new Pool("p" + p, "Pool " + p, PoolEntity.Assignment.FLOATING, 1, 1, 1, List.of("rdp"), 2,
                    2048, 0, 0, true, "UTC", true, List.of(new Pool.Template("hv-0", "template", 1)), Set.of("/all"),
                    Set.of(), SpareSchedule.NONE, false, PoolEntity.UnknownVms.IGNORE, ConnectionSettings.NONE));
        }
    }

    @AfterEach
    void stop() {
        manager.stop();
    }

    @Test
    void ticksOfASteadyStateChangeNothingAndSpreadTheReconcileRounds() throws Exception {
        for (int t = 1; t <= POOLS; t++) {
            harness.tick(); // throws if the tick failed for any pool
            // 10 pools, 30 ticks per reconcile-interval: one pool's round starts per tick, not all ten on the first
            assertEquals(t, reconcileRoundsStarted(), "reconcile rounds started after tick " + t);
        }
        harness.tick();
        assertEquals(POOLS, reconcileRoundsStarted(), "each pool's round once per reconcile-interval");
        assertEquals(0, harness.audited.get(), "a steady state records nothing");
        Cache<String, DesktopState> desktops = manager.getCache(CacheNames.DESKTOPS);
        assertEquals(POOLS, desktops.values().stream().filter(d -> d.status() == DesktopStatus.READY).count());
    }

    @Test
    void aTickThatFailsForAPoolFailsTheHarness() throws Exception {
        Field silentAgents = PoolManager.class.getDeclaredField("silentAgents");
        silentAgents.setAccessible(true);
        silentAgents.set(harness.poolManager, null); // as when a bean was added to the pool manager but not wired here
        IllegalStateException failed = assertThrows(IllegalStateException.class, harness::tick);
        assertEquals("the pool manager's tick failed for " + POOLS + " pool(s) (see the WARNs \"Pool manager tick"
                + " failed\" or \"reconciliation failed\" above)", failed.getMessage());
    }

    /** A reconcile that fails is counted as a failed tick too, although the rest of the pool's tick goes on. */
    @Test
    void aReconcileThatFailsFailsTheHarness() throws Exception {
        Field reconcilerField = PoolManager.class.getDeclaredField("reconciler");
        reconcilerField.setAccessible(true);
        Field health = Reconciler.class.getDeclaredField("health");
        health.setAccessible(true);
        health.set(reconcilerField.get(harness.poolManager), null); // every reconcile now throws
        IllegalStateException failed = assertThrows(IllegalStateException.class, harness::tick);
        assertEquals("the pool manager's tick failed for " + POOLS + " pool(s) (see the WARNs \"Pool manager tick"
                + " failed\" or \"reconciliation failed\" above)", failed.getMessage());
    }

    private int reconcileRoundsStarted() throws Exception {
        Field reconcilerField = PoolManager.class.getDeclaredField("reconciler");
        reconcilerField.setAccessible(true);
        Field lastRound = Reconciler.class.getDeclaredField("lastRound");
        lastRound.setAccessible(true);
        return ((Map<?, ?>) lastRound.get(reconcilerField.get(harness.poolManager))).size();
    }
}
