package org.vdibroker.desktop;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.function.BiPredicate;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.cluster.CacheIndex;
import org.vdibroker.cluster.CacheNames;

/**
 * Reads desktops' live state and claims desktops for sessions. Claiming tries ready desktops of the pool one by one
 * with a conditional write each; losing a race just means trying the next one.
 */
@ApplicationScoped
public class DesktopService {

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    DesktopTransitions transitions;

    @Inject
    DesktopInventory inventory;

    private Cache<String, DesktopState> desktops;
    private Cache<String, String> owners;
    private CacheIndex<DesktopState> byPool;
    private CacheIndex<DesktopState> readyByPool;
    private CacheIndex<DesktopState> comingByPool;
    private CacheIndex<DesktopState> busyByHypervisor;
    private DesktopWork work;

    @PostConstruct
    void init() {
        desktops = manager.getCache(CacheNames.DESKTOPS);
        owners = manager.getCache(CacheNames.DESKTOP_OWNERS);
        byPool = CacheIndex.attach(desktops, DesktopState::poolId);
        readyByPool = CacheIndex.attach(desktops, d -> d.status() == DesktopStatus.READY && d.owner() == null
                && d.sessionId() == null ? d.poolId() : null);
        comingByPool = CacheIndex.attach(desktops, d -> coming(d) ? d.poolId() : null);
        busyByHypervisor = CacheIndex.attach(desktops,
                d -> d.task() != null || coming(d) || d.status() == DesktopStatus.RETIRING ? d.hypervisorId() : null);
        work = DesktopWork.attach(desktops);
    }

    public Optional<DesktopState> get(String desktopId) {
        return Optional.ofNullable(desktops.get(desktopId));
    }

    /** Live state of every desktop of a pool known to this node. */
    public List<DesktopState> ofPool(String poolId) {
        return read(byPool.get(poolId));
    }

    /**
     * Live state of the pool's desktops that need the pool manager: a task in flight, being made ready, failed or
     * retiring (from the local index, so an idle pool costs no walk over all its desktops).
     */
    public List<DesktopState> needingWork(String poolId) {
        return read(work.of(poolId).work);
    }

    /** Live state of the pool's desktops claimed for a session (ASSIGNED) between {@code from} and {@code to}. */
    public List<DesktopState> claimedBetween(String poolId, Instant from, Instant to) {
        return read(work.claims(poolId, from, to));
    }

    /** Live state of the pool's ready, unassigned desktops (from the local index). */
    public List<DesktopState> readyOf(String poolId) {
        return read(readyByPool.get(poolId));
    }

    /** Desktops of the pool that count towards its size (from the local index: an estimate, exact once quiet). */
    public int countedCount(String poolId) {
        return work.of(poolId).counted.get();
    }

    /** Desktops of the pool held by a session or kept for an owner (from the local index). */
    public int heldCount(String poolId) {
        return work.of(poolId).held.get();
    }

    /**
     * Whether the pool has a desktop no session holds on a hypervisor and publication for which {@code test} holds
     * (from the local index): whether a rollout or an evacuation has anything to do in the pool.
     */
    public boolean anyUnused(String poolId, BiPredicate<String, Integer> test) {
        return work.anyUnused(poolId, test);
    }

    /** Corrects the local indexes of the pool from a full read of its desktops ({@link #ofPool}). */
    public void resync(String poolId, List<DesktopState> all) {
        work.resync(poolId, all);
    }

    private List<DesktopState> read(Iterable<String> ids) {
        List<DesktopState> result = new ArrayList<>();
        for (String id : ids) {
            DesktopState d = desktops.get(id);
            if (d != null) {
                result.add(d);
            }
        }
        return result;
    }

    /** Desktops of a pool (from the local index: an estimate, exact once quiet). */
    public int countOfPool(String poolId) {
        return byPool.size(poolId);
    }

    /** Ready, unassigned desktops of a pool (from the local index: an estimate, exact once quiet). */
    public int readyCount(String poolId) {
        return readyByPool.size(poolId);
    }

    /** Desktops of a pool being cloned, booted or refreshed (from the local index). */
    public int comingCount(String poolId) {
        return comingByPool.size(poolId);
    }

    /**
     * Operations in flight on a hypervisor, over all pools and nodes: what its concurrency limit is checked against.
     */
    public int operationsOn(String hypervisorId) {
        return busyByHypervisor.size(hypervisorId);
    }

    /** The desktop a dedicated pool keeps for {@code user}, if any. */
    public Optional<DesktopState> ownedBy(String poolId, String user) {
        String id = owners.get(ownerKey(poolId, user));
        return id == null ? Optional.empty() : get(id);
    }

    /**
     * Claims a desktop of the pool for a session: for a dedicated pool the user's own desktop first, else any ready
     * unowned desktop. Returns the claimed desktop, or empty if none is free now.
     */
    public Optional<DesktopState> claim(String poolId, String sessionId, String user, boolean dedicated) {
        if (dedicated) {
            Optional<DesktopState> own = ownedBy(poolId, user);
            if (own.isPresent()) {
                // the owner's desktop, even if it is still being refreshed: they wait for it rather than get another
                return transitions.claimed(own.get(), sessionId, user, true);
            }
        }
        List<String> candidates = new ArrayList<>(readyByPool.get(poolId));
        // start at a random place so that nodes and threads racing for desktops rarely pick the same one
        Collections.shuffle(candidates);
        for (String id : candidates) {
            DesktopState d = desktops.get(id);
            if (d == null || d.status() != DesktopStatus.READY || d.owner() != null || d.sessionId() != null) {
                continue;
            }
            Optional<DesktopState> won = transitions.claimed(d, sessionId, user, dedicated);
            if (won.isPresent()) {
                if (dedicated) {
                    owners.put(ownerKey(poolId, user), id);
                    inventory.setOwner(id, user);
                }
                return won;
            }
        }
        return Optional.empty();
    }

    /** Records that a dedicated desktop belongs to its owner again (live state rebuilt after a restart). */
    public void rememberOwner(DesktopState desktop) {
        if (desktop.owner() != null) {
            owners.putIfAbsent(ownerKey(desktop.poolId(), desktop.owner()), desktop.id());
        }
    }

    /** Forgets a dedicated desktop's owner (the desktop is being retired; retirement clears its inventory row's). */
    public void forgetOwner(DesktopState desktop) {
        if (desktop.owner() != null) {
            owners.remove(ownerKey(desktop.poolId(), desktop.owner()), desktop.id());
        }
    }

    /** Being made ready (cloned, booted or refreshed): will be READY soon. */
    public static boolean coming(DesktopState d) {
        return d.status() == DesktopStatus.PROVISIONING || d.status() == DesktopStatus.STARTING
                || d.status() == DesktopStatus.REFRESHING;
    }

    private static String ownerKey(String poolId, String user) {
        return poolId + '|' + user;
    }
}
