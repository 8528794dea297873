package org.vdibroker.desktop;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiPredicate;
import java.util.function.Predicate;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.cluster.CacheIndex;
import org.vdibroker.cluster.CacheIndexes;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.LocalKeys;

/**
 * Reads desktops' live state and claims desktops for sessions. Claiming tries ready desktops of the pool one by one
 * with a conditional write each; losing a race just means trying the next one.
 *
 * <p>Started with the application, not at its first use, so its indexes follow the desktops cache from the node's
 * start.
 */
@io.quarkus.runtime.Startup
@ApplicationScoped
public class DesktopService {

    /** Desktops read in one batch: a pool's full read is a few requests per node, none of them huge. */
    private static final int READ_BATCH = 1000;

    /** Random picks among a pool's ready desktops before a claim walks them all (see {@link #claim}). */
    private static final int RANDOM_PICKS = 12;
    /** Of those, how many owned elsewhere are kept to be tried after the local ones. */
    private static final int RANDOM_PICKS_ELSEWHERE = 3;

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
    private CacheIndex<DesktopState> ownedByNameOnly;
    private DesktopWork work;

    @PostConstruct
    void init() {
        desktops = manager.getCache(CacheNames.DESKTOPS);
        owners = manager.getCache(CacheNames.DESKTOP_OWNERS);
        // one listener for all of them
        CacheIndexes<DesktopState> indexes = CacheIndexes.of(desktops, DesktopState::version);
        byPool = indexes.index(DesktopState::poolId);
        readyByPool = indexes.index(d -> d.status() == DesktopStatus.READY && d.owner() == null
                && d.sessionId() == null ? d.poolId() : null);
        comingByPool = indexes.index(d -> coming(d) ? d.poolId() : null);
        busyByHypervisor = indexes.index(
                d -> d.task() != null || coming(d) || d.status() == DesktopStatus.RETIRING ? d.hypervisorId() : null);
        ownedByNameOnly = indexes.index(
                d -> d.owner() != null && d.ownerSubject() == null ? ownerKey(d.poolId(), d.owner()) : null);
        work = DesktopWork.attach(desktops, indexes);
        indexes.start();
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

    /**
     * The orphaned-claim check found that this claim's session holds the desktop: {@link #claimedBetween} leaves it
     * out from now on (until the desktop is written again).
     */
    public void claimConfirmed(DesktopState claimed) {
        work.confirmed(claimed.poolId(), claimed.id(), claimed.changedAt());
    }

    /** Live state of the pool's desktops on these hypervisors (from the local index). */
    public List<DesktopState> onHypervisors(String poolId, Collection<String> hypervisorIds) {
        return hypervisorIds.isEmpty() ? List.of() : read(work.onHypervisors(poolId, hypervisorIds));
    }

    /** Live state of the pool's ready, unassigned desktops (from the local index). */
    public List<DesktopState> readyOf(String poolId) {
        return read(readyByPool.get(poolId));
    }

    /**
     * Whether the local index counts this desktop yet: a desktop just written on this node reaches it a moment later
     * (the index follows the cache's events), and until then only its writer knows to count it.
     */
    public boolean indexed(String id) {
        return work.knows(id);
    }

    /** Desktops of the pool that count towards its size (from the local index: an estimate, exact once quiet). */
    public int countedCount(String poolId) {
        return work.of(poolId).counted.get();
    }

    /**
     * How many of the pool's desktops are in each state, by state name in alphabetical order, without the states
     * none is in (from the local index, so an admin polling a pool of thousands reads none of them).
     */
    public Map<String, Long> countsByStatus(String poolId) {
        Map<String, Long> counts = new TreeMap<>();
        work.of(poolId).byStatus.forEach((status, n) -> counts.put(status.name(), (long) n));
        return counts;
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

    /**
     * The desktops with these ids that still exist, in the ids' order, read in batches (one request per owning node
     * each): read one by one, the reconciler's read of a pool of 11,000 desktops held the pool manager's tick for
     * tens of seconds on the saturated nodes of a cold storm, a third of the reads going to a busy peer.
     */
    private List<DesktopState> read(Iterable<String> ids) {
        List<DesktopState> result = new ArrayList<>();
        List<String> batch = new ArrayList<>(READ_BATCH);
        for (String id : ids) {
            batch.add(id);
            if (batch.size() == READ_BATCH) {
                readBatch(batch, result);
            }
        }
        readBatch(batch, result);
        return result;
    }

    private void readBatch(List<String> batch, List<DesktopState> into) {
        if (batch.isEmpty()) {
            return;
        }
        Map<String, DesktopState> read = desktops.getAdvancedCache().getAll(new HashSet<>(batch));
        for (String id : batch) {
            DesktopState d = read.get(id);
            if (d != null) {
                into.add(d);
            }
        }
        batch.clear();
    }

    /** Desktops of a pool (from the local index: an estimate, exact once quiet). */
    public int countOfPool(String poolId) {
        return byPool.size(poolId);
    }

    /** Ready, unassigned desktops of a pool (from the local index: an estimate, exact once quiet). */
    public int readyCount(String poolId) {
        return readyByPool.size(poolId);
    }

    /**
     * Seconds a desktop of the pool takes from the start of its making (or refresh) until it is ready, a mean of the
     * latest ones; empty until one was (from this node's index: every node sees the same events).
     */
    public OptionalDouble provisioningSeconds(String poolId) {
        return work.of(poolId).provisioningTime.seconds();
    }

    /**
     * Seconds since each desktop of the pool that is being made or refreshed started, oldest first (from this node's
     * index, which saw it start): how far along the desktops the queue gets next are.
     */
    public double[] comingAges(String poolId) {
        return work.of(poolId).provisioningTime.ages(work.clock.instant());
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

    /**
     * The desktop a dedicated pool keeps for the user with this subject: bound to the subject, or else one whose
     * owner is known only by the name {@code user} (assigned before owners had subjects; claiming binds it).
     */
    public Optional<DesktopState> ownedBy(String poolId, String subject, String user) {
        if (subject == null) {
            return Optional.empty();
        }
        String id = owners.get(ownerKey(poolId, subject));
        Optional<DesktopState> bound = id == null ? Optional.empty()
                : get(id).filter(d -> subject.equals(d.ownerSubject()));
        if (bound.isPresent() || user == null) {
            return bound;
        }
        for (String nameOnly : ownedByNameOnly.get(ownerKey(poolId, user))) {
            Optional<DesktopState> d = get(nameOnly).filter(x -> x.ownedBy(subject, user));
            if (d.isPresent()) {
                return d;
            }
        }
        return Optional.empty();
    }

    /**
     * Claims a desktop of the pool for a session of the user with this subject ({@code user} is their name): for a
     * dedicated pool the user's own desktop first, else any ready unowned desktop. Returns the claimed desktop, or
     * empty if none is free now.
     */
    public Optional<DesktopState> claim(String poolId, String sessionId, String subject, String user,
            boolean dedicated) {
        if (dedicated) {
            Optional<DesktopState> own = ownedBy(poolId, subject, user);
            if (own.isPresent()) {
                // the owner's desktop, even if it is still being refreshed: they wait for it rather than get another
                Optional<DesktopState> won = transitions.claimed(own.get(), sessionId, subject, user, true);
                won.ifPresent(d -> ownerChanged(own.get(), d));
                return won;
            }
        }
        // first a few ready desktops picked at random (nodes and threads racing for desktops rarely pick the same
        // one), those whose primary copy is on this node tried at once (a claim of those is one copy to the backup,
        // not two hops), a few others kept for after them; no copy of the pool's ready set, which at thousands of
        // desktops cost more than the rest of the request
        Predicate<Object> here = LocalKeys.primaryHere(desktops);
        Set<String> tried = new HashSet<>();
        List<String> elsewhere = new ArrayList<>();
        for (int i = 0; i < RANDOM_PICKS; i++) {
            String id = readyByPool.any(poolId);
            if (id == null) {
                return Optional.empty();
            }
            if (!here.test(id)) {
                if (elsewhere.size() < RANDOM_PICKS_ELSEWHERE && !elsewhere.contains(id)) {
                    elsewhere.add(id);
                }
                continue;
            }
            if (!tried.add(id)) {
                continue;
            }
            Optional<DesktopState> won = tryClaim(id, sessionId, subject, user, dedicated);
            if (won.isPresent()) {
                return won;
            }
        }
        Optional<DesktopState> won = firstClaimed(elsewhere, tried, sessionId, subject, user, dedicated);
        // every pick lost its race (few ready desktops, many claimants) or was stale: every other ready one, in turn
        return won.isPresent() ? won
                : firstClaimed(readyByPool.get(poolId), tried, sessionId, subject, user, dedicated);
    }

    /** Tries {@code ids} in turn, skipping (and noting in {@code tried}) those tried before; the first claim won. */
    private Optional<DesktopState> firstClaimed(Iterable<String> ids, Set<String> tried, String sessionId,
            String subject, String user, boolean dedicated) {
        for (String id : ids) {
            if (!tried.add(id)) {
                continue;
            }
            Optional<DesktopState> won = tryClaim(id, sessionId, subject, user, dedicated);
            if (won.isPresent()) {
                return won;
            }
        }
        return Optional.empty();
    }

    private Optional<DesktopState> tryClaim(String id, String sessionId, String subject, String user,
            boolean dedicated) {
        DesktopState d = desktops.get(id);
        if (d == null || d.status() != DesktopStatus.READY || d.owner() != null || d.sessionId() != null) {
            return Optional.empty();
        }
        Optional<DesktopState> won = transitions.claimed(d, sessionId, subject, user, dedicated);
        if (won.isPresent() && dedicated) {
            ownerChanged(d, won.get());
        }
        return won;
    }

    /**
     * A claim gave a dedicated desktop its owner, bound an owner known only by name to their subject, or saw the
     * owner under a new name: the owners index and the inventory row follow, so a restart gives it back to the same
     * subject.
     */
    private void ownerChanged(DesktopState before, DesktopState after) {
        if (after.ownerSubject() == null) {
            // claimed for a session without a subject (written by an older broker): kept by name, bound later
            inventory.setOwner(after.id(), after.owner(), null);
            return;
        }
        owners.put(ownerKey(after.poolId(), after.ownerSubject()), after.id());
        if (!after.ownerSubject().equals(before.ownerSubject()) || !after.owner().equals(before.owner())) {
            inventory.setOwner(after.id(), after.owner(), after.ownerSubject());
        }
    }

    /**
     * Records that a dedicated desktop belongs to its owner again (live state rebuilt after a restart). An owner
     * known only by name needs no entry: {@link #ownedBy} finds such desktops by name.
     */
    public void rememberOwner(DesktopState desktop) {
        if (desktop.owner() != null && desktop.ownerSubject() != null) {
            owners.putIfAbsent(ownerKey(desktop.poolId(), desktop.ownerSubject()), desktop.id());
        }
    }

    /** Forgets a dedicated desktop's owner (the desktop is being retired; retirement clears its inventory row's). */
    public void forgetOwner(DesktopState desktop) {
        if (desktop.owner() != null && desktop.ownerSubject() != null) {
            owners.remove(ownerKey(desktop.poolId(), desktop.ownerSubject()), desktop.id());
        }
    }

    /** Being made ready (cloned, booted or refreshed): will be READY soon. */
    public static boolean coming(DesktopState d) {
        return d.status() == DesktopStatus.PROVISIONING || d.status() == DesktopStatus.STARTING
                || d.status() == DesktopStatus.REFRESHING;
    }

    private static String ownerKey(String poolId, String subjectOrName) {
        return poolId + '|' + subjectOrName;
    }
}
