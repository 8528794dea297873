package org.vdibroker.pool;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;
import org.vdibroker.audit.AuditService;
import org.vdibroker.desktop.DesktopEntity;
import org.vdibroker.desktop.DesktopInventory;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;
import org.vdibroker.desktop.DesktopTransitions;
import org.vdibroker.hypervisor.DriverCalls;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.HypervisorHealth;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.VmInfo;
import org.vdibroker.hypervisor.VmInfo.PowerState;
import org.vdibroker.session.SessionService;
import org.vdibroker.session.SessionStore;

/**
 * Keeps the broker's view of a pool's desktops true to its hypervisors, on the node that manages the pool.
 * <p>
 * Every tick, without calling any hypervisor: the desktops of a lost hypervisor go LOST, and the sessions on LOST
 * desktops end with reason {@value #LOST_REASON}, so their users can ask again at once and get a desktop elsewhere
 * (LOST desktops do not count towards the pool's size, so the pool manager provisions replacements).
 * <p>
 * Every {@code reconcile-interval}, soon after this node starts managing the pool (the first rounds of many pools are
 * spread over the interval, a share of them per tick: see {@link #startTick}), and at once when the pool's live state
 * is empty (a whole-cluster restart), it lists the VMs with the pool's naming on each answering hypervisor and repairs
 * drift: a desktop whose VM vanished is dropped (and replaced); a LOST desktop whose hypervisor is back is retired,
 * or, if dedicated, returned to its owner; an unused desktop powered off behind the broker's back is powered on; a VM
 * the inventory knows but the live state does not is rebuilt into a desktop; a VM nobody knows is adopted, retired
 * or ignored as the pool says. Each round does a bounded amount of work.
 */
@ApplicationScoped
public class Reconciler {

    private static final Logger LOG = Logger.getLogger(Reconciler.class);

    /** End reason of a session whose desktop was lost with its hypervisor or vanished. */
    public static final String LOST_REASON = "desktop-lost";
    private static final String ACTOR = "pool-manager";
    /** An inventory row younger than this may belong to a provision in progress, so it is never retired as gone. */
    private static final Duration ROW_GRACE = Duration.ofMinutes(2);

    @Inject
    DesktopCreation creation;

    @Inject
    BrokerConfig config;
    @Inject
    DesktopService desktops;
    @Inject
    DesktopTransitions transitions;
    @Inject
    DesktopInventory inventory;
    @Inject
    HypervisorHealth health;
    @Inject
    SessionService sessionService;
    @Inject
    SessionStore sessions;
    @Inject
    AuditService audit;

    Clock clock = Clock.systemUTC();

    private final Map<String, Instant> lastRound = new ConcurrentHashMap<>();
    /** Hypervisors still to compare in each pool's current round. */
    private final Map<String, Deque<String>> rounds = new ConcurrentHashMap<>();
    /** Pools whose empty live state has been checked against the inventory since it became empty. */
    private final Set<String> emptyChecked = ConcurrentHashMap.newKeySet();
    /**
     * Rounds this tick may still start: a round reads the whole pool and lists its hypervisors, so the rounds of many
     * pools are spread over {@code reconcile-interval} rather than all started on one tick (a node's first tick).
     * Unbounded until the pool manager's first tick says how many pools there are.
     */
    private final AtomicInteger startsLeft = new AtomicInteger(Integer.MAX_VALUE);
    /** Unknown VMs already reported under IGNORE, so each is reported once per node. */
    private final Set<String> reported = ConcurrentHashMap.newKeySet();

    /**
     * Called by the pool manager at the start of each tick for a pool this node manages. Returns false if this
     * tick's part failed (logged here; the pool manager counts it with its failed ticks): the rest of the pool's
     * tick still runs, and the next tick tries again.
     */
    public boolean reconcile(Pool pool) {
        try {
            Deque<String> round = rounds.get(pool.id());
            boolean starts = (round == null || round.isEmpty()) && due(pool);
            // the whole pool is read only when a round starts (leftovers of a node that died half-way); while a
            // hypervisor is lost, only the pool's desktops on lost hypervisors are, every tick
            List<DesktopState> live = starts ? desktops.ofPool(pool.id()) : List.of();
            markLost(starts ? live : desktops.onHypervisors(pool.id(), health.lostIds()));
            // the round's first batch compares against the same read of the inventory that found the hosts
            Map<String, DesktopEntity> rows = null;
            if (starts) {
                lastRound.put(pool.id(), clock.instant());
                rows = rows(pool);
                round = new ArrayDeque<>(hypervisorsOf(pool, live, rows));
                rounds.put(pool.id(), round);
            }
            if (round != null && !round.isEmpty()) {
                // a round over many hypervisors is spread over ticks, a batch of hypervisors at a time
                List<String> slice = new ArrayList<>();
                while (!round.isEmpty() && slice.size() < config.poolManager().batchSize()) {
                    slice.add(round.poll());
                }
                compare(pool, slice, starts ? rows : rows(pool));
            }
            return true;
        } catch (RuntimeException e) {
            LOG.warnf(e, "Pool %s: reconciliation failed", pool.id());
            return false;
        }
    }

    /**
     * The pool manager starts a tick over {@code pools} pools: at most the share of them that one tick holds of a
     * reconcile-interval start a round on it (at least one), so a round of every pool is still started within the
     * interval and no tick carries all of them. Once spread, rounds stay spread: each is due an interval after its own.
     */
    public void startTick(int pools) {
        double ticksPerInterval = Math.max(1.0, (double) config.poolManager().reconcileInterval().toMillis()
                / Math.max(1, config.poolManager().interval().toMillis()));
        startsLeft.set(Math.max(1, (int) Math.ceil(pools / ticksPerInterval)));
    }

    /** Forgets when each pool was reconciled, as a node that just started would; the next tick compares at once. */
    void forget() {
        lastRound.clear();
        emptyChecked.clear();
        rounds.clear();
    }

    private boolean due(Pool pool) {
        if (desktops.countOfPool(pool.id()) > 0) {
            emptyChecked.remove(pool.id());
        } else if (emptyChecked.add(pool.id())) {
            startsLeft.decrementAndGet();
            return true; // the live state is empty: rebuild from the inventory before the pool grows anew (at once)
        }
        Instant last = lastRound.get(pool.id());
        boolean due = last == null || !clock.instant().isBefore(last.plus(config.poolManager().reconcileInterval()));
        // over this tick's share, a due round waits for a following tick
        return due && startsLeft.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0;
    }

    /** Desktops of lost hypervisors go LOST; sessions on LOST desktops are told and ended. */
    private void markLost(List<DesktopState> live) {
        for (DesktopState d : live) {
            DesktopState current = d;
            if (d.status() == DesktopStatus.FAILED && health.lost(d.hypervisorId())) {
                // e.g. an admin recycled a LOST desktop to free its owner: nothing can be deleted on a lost
                // hypervisor, so it is dropped; should its VM come back, it is an unknown VM (see unknownVms)
                gone(d, "failed on lost hypervisor " + d.hypervisorId());
                continue;
            }
            if (d.status() != DesktopStatus.LOST && health.lost(d.hypervisorId())) {
                current = transitions.lost(d).orElse(null);
                if (current == null) {
                    continue; // changed meanwhile; the next tick looks again
                }
                LOG.warnf("Desktop %s is lost: hypervisor %s stopped answering", d.id(), d.hypervisorId());
                audit.record("desktop.lost", ACTOR, d.poolId(), d.id(), d.sessionId(),
                        "hypervisor " + d.hypervisorId() + " stopped answering");
            }
            if (current.status() == DesktopStatus.LOST && current.sessionId() != null) {
                endSession(current);
            }
        }
    }

    /**
     * Ends the session on a LOST desktop, then clears it from the desktop; in that order, so a node dying in between
     * leaves the work for the next tick rather than a live session on a lost desktop.
     */
    private DesktopState endSession(DesktopState lost) {
        String sessionId = lost.sessionId();
        boolean onThisDesktop = sessions.get(sessionId).map(s -> lost.id().equals(s.desktopId())).orElse(false);
        if (onThisDesktop) {
            sessionService.end(sessionId, LOST_REASON, ACTOR);
        }
        return transitions.lostReleased(lost, sessionId).orElse(null);
    }

    /** The pool's templates' hypervisors and those its desktops are on, in the live state or the inventory. */
    private Set<String> hypervisorsOf(Pool pool, List<DesktopState> live, Map<String, DesktopEntity> rows) {
        Set<String> hypervisorIds = new LinkedHashSet<>();
        pool.templates().forEach(t -> hypervisorIds.add(t.hypervisorId()));
        live.forEach(d -> hypervisorIds.add(d.hypervisorId()));
        if (rows != null) {
            rows.values().forEach(r -> hypervisorIds.add(r.hypervisorId));
        }
        return hypervisorIds;
    }

    /** Active inventory rows of the pool by name; null while the database cannot tell. */
    private Map<String, DesktopEntity> rows(Pool pool) {
        try {
            Map<String, DesktopEntity> rows = new HashMap<>();
            for (DesktopEntity row : inventory.active(pool.id())) {
                rows.put(row.name, row);
            }
            return rows;
        } catch (RuntimeException e) {
            LOG.infof("Pool %s: inventory not read, unknown VMs wait: %s", pool.id(), e.getMessage());
            return null;
        }
    }

    /** Compares a batch of the pool's hosts; {@code rows} as {@link #rows}, null while the database cannot tell. */
    private void compare(Pool pool, List<String> hypervisorIds, Map<String, DesktopEntity> rows) {
        Map<String, HypervisorDriver> drivers = new LinkedHashMap<>();
        Map<String, List<VmInfo>> listed = new HashMap<>();
        for (String hypervisorId : hypervisorIds) {
            HypervisorDriver driver = health.lost(hypervisorId) ? null
                    : health.backgroundDriver(hypervisorId).orElse(null);
            if (driver == null) {
                continue; // not answering: nothing it says can be trusted until it does
            }
            try {
                listed.put(hypervisorId, await(driver.listVms(pool.id() + "-")).stream()
                        .filter(vm -> pool.namesDesktop(vm.name())).toList());
                drivers.put(hypervisorId, driver);
            } catch (HypervisorException e) {
                LOG.infof("Pool %s: hypervisor %s not reconciled this round: %s", pool.id(), hypervisorId,
                        e.getMessage());
            }
        }
        if (drivers.isEmpty()) {
            return;
        }
        // one read of the pool for the whole batch, after the listings: a desktop whose VM is not listed yet has no
        // vmRef yet
        List<DesktopState> live = desktops.ofPool(pool.id());
        // the pool's desktops and rows split by host once: each host's comparison then walks its own share, so a
        // round costs the pool's size, not the pool's size times its hosts (at 55,000 desktops on ten hosts that
        // was 12 % of three nodes' CPU under load, 2026-12-07)
        Set<String> liveNames = new HashSet<>();
        Map<String, List<DesktopState>> liveByHost = new HashMap<>();
        for (DesktopState d : live) {
            liveNames.add(d.name());
            liveByHost.computeIfAbsent(d.hypervisorId(), h -> new ArrayList<>()).add(d);
        }
        Map<String, List<DesktopEntity>> rowsByHost = new HashMap<>();
        if (rows != null) {
            rows.values().forEach(r -> rowsByHost.computeIfAbsent(r.hypervisorId, h -> new ArrayList<>()).add(r));
        }
        drivers.forEach((hypervisorId, driver) -> compareHost(pool, hypervisorId, driver, listed.get(hypervisorId),
                rows, rowsByHost.getOrDefault(hypervisorId, List.of()), liveByHost.getOrDefault(hypervisorId,
                        List.of()), liveNames));
    }

    /**
     * One host's VMs against the pool: {@code rows} are the pool's rows by name (null while the database cannot
     * tell), {@code hostRows} and {@code hostLive} this host's rows and live desktops, {@code liveNames} the names of
     * all the pool's live desktops, on any host.
     */
    private void compareHost(Pool pool, String hypervisorId, HypervisorDriver driver, List<VmInfo> vms,
            Map<String, DesktopEntity> rows, List<DesktopEntity> hostRows, List<DesktopState> hostLive,
            Set<String> liveNames) {
        Map<String, VmInfo> byRef = new HashMap<>();
        Map<String, VmInfo> byName = new HashMap<>();
        vms.forEach(vm -> {
            byRef.put(vm.vmRef(), vm);
            byName.put(vm.name(), vm);
        });
        Set<String> matched = new HashSet<>();
        int budget = config.poolManager().batchSize();
        for (DesktopState d : hostLive) {
            VmInfo vm = vmOf(d, byRef, byName);
            if (vm != null) {
                matched.add(vm.vmRef());
            }
            if (budget > 0 && safely(d.id(), () -> repair(d, vm, driver))) {
                budget--;
            }
        }
        for (VmInfo vm : vms) {
            if (budget <= 0) {
                return;
            }
            if (matched.contains(vm.vmRef()) || liveNames.contains(vm.name()) || vm.power() == PowerState.UNKNOWN
                    || creation.making(vm.name())) { // a VM whose desktop is being written is not unknown
                continue;
            }
            if (rows == null) {
                continue; // without the inventory an unknown VM cannot be told from a forgotten desktop
            }
            DesktopEntity row = rows.get(vm.name());
            boolean acted = safely(vm.vmRef(), () -> {
                if (row != null && row.hypervisorId.equals(hypervisorId)) {
                    rebuild(row, vm, driver);
                    return true;
                }
                return unknown(pool, hypervisorId, vm, driver);
            });
            if (acted) {
                budget--;
            }
        }
        if (rows != null) {
            retireGoneRows(hostRows, byName.keySet(), liveNames);
        }
    }

    private static VmInfo vmOf(DesktopState d, Map<String, VmInfo> byRef, Map<String, VmInfo> byName) {
        VmInfo vm = d.vmRef() == null ? null : byRef.get(d.vmRef());
        return vm != null ? vm : byName.get(d.name());
    }

    /** One item's failure (hypervisor refused, database down) does not stop the others; the next round retries. */
    private static boolean safely(String what, java.util.function.BooleanSupplier step) {
        try {
            return step.getAsBoolean();
        } catch (RuntimeException e) {
            LOG.infof("Reconciling %s failed, tried again next round: %s", what, e.getMessage());
            return true;
        }
    }

    /** Repairs one desktop against its VM as listed ({@code vm} null: not listed); true if it did something. */
    private boolean repair(DesktopState d, VmInfo vm, HypervisorDriver driver) {
        if (d.status() == DesktopStatus.LOST && d.sessionId() != null) {
            return false; // its session is ended first (markLost, every tick)
        }
        if (vm == null) {
            if (d.status() == DesktopStatus.LOST) {
                gone(d, "its VM no longer exists");
                return true;
            }
            // a refresh under way is judged by the pool manager from its task: a re-clone replaces the VM, and the
            // desktop has none of its name for a moment
            if (d.vmRef() != null && (d.status().held() || d.status() == DesktopStatus.READY
                    || d.status() == DesktopStatus.STARTING
                    || d.status() == DesktopStatus.REFRESHING && d.task() == null)) {
                vanished(d);
                return true;
            }
            return false; // being provisioned (not listed yet), failed or retiring: the pool manager handles it
        }
        if (d.status() == DesktopStatus.LOST) {
            return hypervisorBack(d, vm, driver);
        }
        if (vm.power() == PowerState.STOPPED && d.task() == null
                && (d.status() == DesktopStatus.READY || d.status().held())) {
            poweredOff(d, vm, driver);
            return true;
        }
        return false;
    }

    /** The VM was deleted behind the broker's back: sessions on it are told, the desktop is dropped and replaced. */
    private void vanished(DesktopState d) {
        DesktopState lost = transitions.lost(d).orElse(null);
        if (lost == null) {
            return;
        }
        LOG.warnf("Desktop %s: VM %s vanished from hypervisor %s", d.id(), d.vmRef(), d.hypervisorId());
        if (lost.sessionId() != null) {
            lost = endSession(lost);
        }
        if (lost != null) {
            gone(lost, "its VM " + d.vmRef() + " vanished from hypervisor " + d.hypervisorId());
        }
    }

    /** A LOST desktop whose hypervisor answers again and whose VM still exists. */
    private boolean hypervisorBack(DesktopState d, VmInfo vm, HypervisorDriver driver) {
        if (d.owner() != null) {
            // a dedicated desktop holds its owner's work: it goes back to them
            TaskRef powerOn = await(driver.powerOn(vm.vmRef()));
            transitions.recovered(d, powerOn).ifPresent(r -> {
                desktops.rememberOwner(r);
                audit.record("desktop.recovered", ACTOR, d.poolId(), d.id(), null, "back to " + d.owner());
            });
            return true;
        }
        // a floating desktop was replaced meanwhile, and a user may have been in it: it goes
        transitions.retiring(d, null).ifPresent(r -> audit.record("desktop.retiring", ACTOR, d.poolId(), d.id(), null,
                "lost, hypervisor " + d.hypervisorId() + " back"));
        return true;
    }

    /** Powered off behind the broker's back: an unused desktop starts again; a held one is powered on for its user. */
    private void poweredOff(DesktopState d, VmInfo vm, HypervisorDriver driver) {
        TaskRef powerOn = await(driver.powerOn(vm.vmRef()));
        if (d.sessionId() != null) {
            audit.record("desktop.repaired", ACTOR, d.poolId(), d.id(), d.sessionId(), "powered on again");
            return; // the session keeps its desktop; its VM boots again
        }
        transitions.repaired(d, powerOn).ifPresent(r -> audit.record("desktop.repaired", ACTOR, d.poolId(), d.id(),
                null, "powered on again"));
    }

    /** Drops the live entry of a desktop whose VM no longer exists; the pool manager provisions a replacement. */
    private void gone(DesktopState d, String why) {
        if (!transitions.deleted(d)) {
            return;
        }
        desktops.forgetOwner(d);
        try {
            inventory.retired(d.id());
        } catch (RuntimeException e) {
            LOG.infof("Desktop %s: inventory not updated (the next round retires the row): %s", d.id(),
                    e.getMessage());
        }
        audit.record("desktop.vanished", ACTOR, d.poolId(), d.id(), null, why);
    }

    /** A VM the inventory knows but the live state forgot (whole-cluster restart) becomes a desktop again. */
    private void rebuild(DesktopEntity row, VmInfo vm, HypervisorDriver driver) {
        DesktopStatus status;
        TaskRef task = null;
        if (row.owner == null) {
            status = DesktopStatus.REFRESHING; // nobody can tell who used it last: reverted before anyone gets it
        } else if (vm.power() == PowerState.RUNNING) {
            status = DesktopStatus.ASSIGNED; // kept for its owner, no session
        } else {
            status = DesktopStatus.STARTING;
            task = await(driver.powerOn(vm.vmRef()));
        }
        transitions.rebuilt(row.id, row.poolId, row.hypervisorId, row.name, vm.vmRef(), row.owner, row.ownerSub,
                row.publication, status, task).ifPresent(d -> {
                    desktops.rememberOwner(d);
                    if (!Objects.equals(row.vmRef, vm.vmRef())) {
                        inventory.setVmRef(row.id, vm.vmRef());
                    }
                    LOG.infof("Desktop %s rebuilt from the inventory as %s", d.id(), status);
                    audit.record("desktop.rebuilt", ACTOR, d.poolId(), d.id(), null, status.name());
                });
    }

    /** Handles a VM nobody knows as the pool says; true if it did something. */
    private boolean unknown(Pool pool, String hypervisorId, VmInfo vm, HypervisorDriver driver) {
        String what = "VM " + vm.vmRef() + " (" + vm.name() + ") on hypervisor " + hypervisorId;
        switch (pool.unknownVms()) {
            case ADOPT -> {
                DesktopEntity row = new DesktopEntity();
                row.id = UUID.randomUUID().toString();
                row.poolId = pool.id();
                row.hypervisorId = hypervisorId;
                row.name = vm.name();
                row.vmRef = vm.vmRef();
                // its real origin is unknown; adopting means keeping it as one of the pool's current desktops
                row.publication = pool.publicationOn(hypervisorId);
                inventory.add(row);
                transitions.adopted(row.id, pool.id(), hypervisorId, vm.name(), vm.vmRef(), row.publication)
                        .ifPresent(d -> {
                            LOG.infof("Pool %s adopted %s as desktop %s", pool.id(), what, d.id());
                            audit.record("desktop.adopted", ACTOR, pool.id(), d.id(), null, what);
                        });
            }
            case RETIRE -> {
                await(driver.delete(vm.vmRef()));
                LOG.infof("Pool %s retired unknown %s", pool.id(), what);
                audit.record("vm.retired", ACTOR, pool.id(), null, null, what);
            }
            case IGNORE -> {
                if (!reported.add(hypervisorId + '/' + vm.vmRef())) {
                    return false;
                }
                LOG.warnf("Pool %s: unknown %s left alone (the pool's unknownVms is ignore)", pool.id(), what);
                audit.record("vm.unknown", ACTOR, pool.id(), null, null, what);
            }
        }
        return true;
    }

    /** Inventory rows of this hypervisor with neither a live desktop nor a VM: the desktop is gone for good. */
    private void retireGoneRows(List<DesktopEntity> hostRows, Set<String> listed, Set<String> liveNames) {
        Instant settled = clock.instant().minus(ROW_GRACE);
        for (DesktopEntity row : hostRows) {
            if (!listed.contains(row.name) && !liveNames.contains(row.name)
                    && row.createdAt != null && row.createdAt.isBefore(settled)
                    && desktops.get(row.id).isEmpty()) {
                try {
                    inventory.retired(row.id);
                    LOG.infof("Desktop %s: neither live nor on hypervisor %s; retired from the inventory", row.id,
                            row.hypervisorId);
                } catch (RuntimeException e) {
                    return; // database unavailable: the next round tries again
                }
            }
        }
    }

    private <T> T await(CompletionStage<T> stage) {
        return DriverCalls.await(stage, config.poolManager().callTimeout().plusSeconds(1));
    }
}
