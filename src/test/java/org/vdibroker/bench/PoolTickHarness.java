package org.vdibroker.bench;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import jakarta.annotation.PostConstruct;
import jakarta.inject.Inject;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.BrokerConfig;
import org.vdibroker.agent.AgentCheckIns;
import org.vdibroker.agent.AgentEventService;
import org.vdibroker.audit.AuditService;
import org.vdibroker.cluster.Counters;
import org.vdibroker.cluster.KeyOwnership;
import org.vdibroker.desktop.DesktopEntity;
import org.vdibroker.desktop.DesktopInventory;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopTransitions;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.Hypervisor;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorHealth;
import org.vdibroker.hypervisor.HypervisorRegistry;
import org.vdibroker.hypervisor.HypervisorService;
import org.vdibroker.hypervisor.simulator.SimulatorDriverFactory;
import org.vdibroker.persistence.Database;
import org.vdibroker.pool.ArrivalForecast;
import org.vdibroker.pool.DesktopCreation;
import org.vdibroker.pool.Evacuations;
import org.vdibroker.pool.LoginHistory;
import org.vdibroker.pool.Placement;
import org.vdibroker.pool.Pool;
import org.vdibroker.pool.PoolCatalog;
import org.vdibroker.pool.PoolManager;
import org.vdibroker.pool.ProvisionBackoff;
import org.vdibroker.pool.ProvisionProblems;
import org.vdibroker.pool.ProvisioningStats;
import org.vdibroker.pool.PublicationRollout;
import org.vdibroker.pool.Reconciler;
import org.vdibroker.pool.SilentAgents;
import org.vdibroker.pool.SpareTarget;
import org.vdibroker.session.SessionService;
import org.vdibroker.session.SessionStore;
import org.vdibroker.session.SessionTimeouts;
import org.vdibroker.session.TimeToDesktop;

/**
 * The broker's pool manager and the beans a tick calls, wired by hand outside CDI on one cache manager, so benchmark 4
 * can time whole ticks ({@code PoolManager.tickHere}) over 100,000 desktops without starting Quarkus. The real beans
 * run (pool manager, reconciler, rollout, evacuations, timeouts, placement, session service and store, desktop service
 * and transitions, hypervisor health with its guards) against real simulator drivers. Only what needs the database is
 * replaced: the pool catalog and hypervisor registry hand out fixed definitions, the desktop inventory lists no rows
 * and writes nothing, and the audit log counts records instead of storing them (a steady state must record none).
 */
final class PoolTickHarness {

    final EmbeddedCacheManager manager;
    final PoolManager poolManager;
    final DesktopService desktops;
    final SessionStore sessions;
    final SimulatorDriverFactory simulator;
    final AtomicInteger audited = new AtomicInteger();
    /**
     * Beans that need the database and that no tick of a steady state calls (a session opened, an admin's
     * evacuation): left unwired. Any other missing bean fails the harness at once.
     */
    private static final Set<Class<?>> NOT_ON_A_TICK = Set.of(LoginHistory.class, Database.class,
            HypervisorService.class);

    private final Map<Class<?>, Object> beans = new LinkedHashMap<>();
    private final Map<String, Pool> pools = new LinkedHashMap<>();
    private final Map<String, Hypervisor> hypervisors = new LinkedHashMap<>();
    private final Map<String, HypervisorDriver> drivers = new LinkedHashMap<>();

    PoolTickHarness(EmbeddedCacheManager manager, Map<String, String> settings) throws Exception {
        this(manager, settings, true);
    }

    /**
     * @param guarded whether hypervisor calls go through the broker's guards (SmallRye Fault Tolerance); that needs
     *     the library's standalone implementation, which only the bench profile has (the ordinary tests keep
     *     Quarkus's CDI one), so the guard test in the ordinary build calls the simulator drivers unguarded
     */
    PoolTickHarness(EmbeddedCacheManager manager, Map<String, String> settings, boolean guarded) throws Exception {
        this.manager = manager;
        this.simulator = new SimulatorDriverFactory(manager, Clock.systemUTC());
        beans.put(EmbeddedCacheManager.class, manager);
        beans.put(BrokerConfig.class, config(settings));
        beans.put(MeterRegistry.class, new SimpleMeterRegistry());
        beans.put(PoolCatalog.class, new PoolCatalog() {
            @Override
            public Collection<Pool> all() {
                return pools.values();
            }

            @Override
            public Optional<Pool> get(String id) {
                return Optional.ofNullable(pools.get(id));
            }
        });
        beans.put(HypervisorRegistry.class, new HypervisorRegistry() {
            @Override
            public Collection<Hypervisor> all() {
                return hypervisors.values();
            }

            @Override
            public Optional<Hypervisor> get(String id) {
                return Optional.ofNullable(hypervisors.get(id));
            }

            @Override
            public Optional<HypervisorDriver> driver(String id) {
                return Optional.ofNullable(drivers.get(id));
            }
        });
        beans.put(DesktopInventory.class, new DesktopInventory() {
            @Override
            public void add(DesktopEntity desktop) {
            }

            @Override
            public void setVmRef(String desktopId, String vmRef) {
            }

            @Override
            public void setAgentSecretHash(String desktopId, String agentSecretHash) {
            }

            @Override
            public void setOwner(String desktopId, String owner, String ownerSubject) {
            }

            @Override
            public void retired(String desktopId) {
            }

            @Override
            public List<DesktopEntity> active(String poolId) {
                return List.of();
            }
        });
        beans.put(AuditService.class, new AuditService() {
            @Override
            public void record(String kind, String actor, String poolId, String desktopId, String sessionId,
                    String detail) {
                audited.incrementAndGet();
            }
        });
        if (!guarded) {
            beans.put(HypervisorHealth.class, new HypervisorHealth() {
                @Override
                public Optional<HypervisorDriver> driver(String hypervisorId) {
                    return Optional.ofNullable(drivers.get(hypervisorId));
                }

                @Override
                public Optional<HypervisorDriver> backgroundDriver(String hypervisorId) {
                    return driver(hypervisorId);
                }

                @Override
                public boolean breakerOpen(String hypervisorId) {
                    return false;
                }
            });
        }
        ProvisioningStats stats = new ProvisioningStats();
        beans.put(ProvisioningStats.class, stats);
        beans.put(SpareTarget.class, new SpareTarget(new ArrivalForecast(null), stats));
        for (Class<?> type : List.of(Counters.class, KeyOwnership.class, DesktopTransitions.class,
                DesktopService.class, SessionStore.class, TimeToDesktop.class, SessionService.class,
                HypervisorHealth.class, ProvisionBackoff.class, ProvisionProblems.class, Placement.class,
                DesktopCreation.class, Evacuations.class, PublicationRollout.class, SessionTimeouts.class,
                Reconciler.class, AgentEventService.class, AgentCheckIns.class, SilentAgents.class,
                PoolManager.class)) {
            beans.putIfAbsent(type, type.getDeclaredConstructor().newInstance());
        }
        for (Object bean : List.copyOf(beans.values())) {
            inject(bean);
        }
        for (Object bean : List.copyOf(beans.values())) {
            postConstruct(bean);
        }
        poolManager = (PoolManager) beans.get(PoolManager.class);
        desktops = (DesktopService) beans.get(DesktopService.class);
        sessions = (SessionStore) beans.get(SessionStore.class);
    }

    /** The broker's configuration mapping from its application.properties (default profile) and {@code settings}. */
    static BrokerConfig config(Map<String, String> settings) throws Exception {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withSources(new PropertiesConfigSource(
                        PoolTickHarness.class.getClassLoader().getResource("application.properties"), 100))
                .withSources(new PropertiesConfigSource(settings, "bench", 400))
                .withConverter(Duration.class, 200, new DurationConverter()) // "1s" as Quarkus reads it
                .withMapping(BrokerConfig.class)
                .withValidateUnknown(false)
                .build();
        return config.getConfigMapping(BrokerConfig.class);
    }

    void addHypervisor(String id) {
        HypervisorDefinition definition = new HypervisorDefinition(id, SimulatorDriverFactory.ID, "sim://" + id,
                Map.of(), Map.of(), new HostCapacity(10_000, 10_000_000, 10_000), 20);
        hypervisors.put(id, new Hypervisor(id, SimulatorDriverFactory.ID, definition.endpoint(),
                definition.capacity(), 20, 1.0, 1.0, false, 1));
        drivers.put(id, simulator.create(definition));
    }

    void addPool(Pool pool) {
        pools.put(pool.id(), pool);
    }

    /**
     * One whole tick, as the scheduled method runs it; returns its duration in nanoseconds. Throws if the tick failed
     * for any pool (the pool manager logs such a failure and counts it, and goes on with the next pool): the time of a
     * tick that did nothing measures nothing.
     */
    long tick() throws Exception {
        Method tick = PoolManager.class.getDeclaredMethod("tickHere");
        tick.setAccessible(true);
        double failedBefore = failures();
        long t0 = System.nanoTime();
        try {
            tick.invoke(poolManager);
        } catch (java.lang.reflect.InvocationTargetException e) {
            throw new IllegalStateException("the pool manager's tick threw", e.getCause());
        }
        long took = System.nanoTime() - t0;
        double failed = failures() - failedBefore;
        if (failed > 0) {
            throw new IllegalStateException("the pool manager's tick failed for " + (long) failed
                    + " pool(s) (see the WARNs \"Pool manager tick failed\" or \"reconciliation failed\" above)");
        }
        return took;
    }

    /** Failed pool rounds so far, from the pool manager's counter. */
    private double failures() {
        return ((MeterRegistry) beans.get(MeterRegistry.class)).find("vdi.pool.manager.failures").counters().stream()
                .mapToDouble(c -> c.count()).sum();
    }

    /** Gives the pool manager another configuration (e.g. another sweep-every) from now on. */
    void reconfigure(Map<String, String> settings) throws Exception {
        Field field = PoolManager.class.getDeclaredField("config");
        field.setAccessible(true);
        field.set(poolManager, config(settings));
    }

    /** As a node that just started: the next tick starts a reconcile round of every pool. */
    void forgetReconcileRounds() throws Exception {
        Method forget = Reconciler.class.getDeclaredMethod("forget");
        forget.setAccessible(true);
        forget.invoke(beans.get(Reconciler.class));
    }

    private void inject(Object bean) throws Exception {
        for (Class<?> c = bean.getClass(); c != Object.class; c = c.getSuperclass()) {
            for (Field field : c.getDeclaredFields()) {
                if (!field.isAnnotationPresent(Inject.class)) {
                    continue;
                }
                Object value = lookup(field.getType());
                if (value == null && (bean.getClass().isAnonymousClass() || NOT_ON_A_TICK.contains(field.getType()))) {
                    continue; // a stand-in above for a bean that needs the database: it overrides what a tick calls
                }
                if (value == null) {
                    // a bean the broker added to what a tick calls: wire it above, or the tick fails on null
                    throw new IllegalStateException("PoolTickHarness does not wire " + field.getType().getName()
                            + ", which " + c.getSimpleName() + "." + field.getName() + " needs");
                }
                field.setAccessible(true);
                field.set(bean, value);
            }
        }
    }

    private Object lookup(Class<?> type) {
        Object exact = beans.get(type);
        if (exact != null) {
            return exact;
        }
        return beans.values().stream().filter(type::isInstance).findFirst().orElse(null);
    }

    private static void postConstruct(Object bean) throws Exception {
        for (Class<?> c = bean.getClass(); c != Object.class; c = c.getSuperclass()) {
            for (Method method : c.getDeclaredMethods()) {
                if (method.isAnnotationPresent(PostConstruct.class)) {
                    method.setAccessible(true);
                    method.invoke(bean);
                }
            }
        }
    }
}
