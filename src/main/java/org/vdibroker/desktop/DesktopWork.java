package org.vdibroker.desktop;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiPredicate;
import org.infinispan.Cache;
import org.vdibroker.cluster.CacheIndexes;

/**
 * Node-local index of what the pool manager needs from a pool's desktops each tick, so an idle pool costs no walk
 * over all its desktops: the desktops that need work (a task in flight, being made ready, failed or retiring), recent
 * claims (for the orphaned-claim check), the pool's counted and held desktops, and its unused desktops by hypervisor
 * and publication (for rollouts and evacuations). Follows the desktops cache's events, like {@code CacheIndex}: a
 * hint only. Decisions are still made on the desktop entries themselves, and the pool manager reads each pool in full
 * every few ticks and {@link #resync}s, so a missed event costs at most that delay.
 */
final class DesktopWork {

    /** What one desktop contributes to its pool's figures. */
    private record Entry(String poolId, String hypervisorId, int publication, DesktopStatus status, boolean held,
            boolean work, Instant claimedAt, boolean unused, boolean ready, long version, boolean coming,
            Instant comingSince) {

        static Entry of(DesktopState d) {
            boolean work = d.task() != null || DesktopService.coming(d) || d.status() == DesktopStatus.FAILED
                    || d.status() == DesktopStatus.RETIRING;
            Instant claimedAt = d.status() == DesktopStatus.ASSIGNED && d.sessionId() != null ? d.changedAt() : null;
            return new Entry(d.poolId(), d.hypervisorId(), d.publication(), d.status(),
                    d.status().held() || d.owner() != null, work, claimedAt, d.sessionId() == null,
                    d.status() == DesktopStatus.READY && d.sessionId() == null, d.version(),
                    DesktopService.coming(d), null); // since when it is coming: set by apply, which knows the old
        }

        Entry since(Instant when) {
            return new Entry(poolId, hypervisorId, publication, status, held, work, claimedAt, unused, ready,
                    version, coming, when);
        }

        String placement() {
            return hypervisorId + '|' + publication;
        }
    }

    /** One pool's figures. */
    static final class PoolFigures {
        final Set<String> ids = ConcurrentHashMap.newKeySet();
        /** The pool's desktops by hypervisor: what a lost hypervisor's desktops are found by. */
        final Map<String, Set<String>> byHypervisor = new ConcurrentHashMap<>();
        final AtomicInteger counted = new AtomicInteger();
        final AtomicInteger held = new AtomicInteger();
        /** How many of the pool's desktops are in each state (what the pool's status shows, without reading them). */
        final Map<DesktopStatus, Integer> byStatus = new ConcurrentHashMap<>();
        final Set<String> work = ConcurrentHashMap.newKeySet();
        /**
         * Claims not yet confirmed, oldest first: a tick reads only those of the orphan check's window, not every
         * claim of the last minutes (25,000 after a storm, every second).
         */
        final NavigableSet<Claim> claims = new ConcurrentSkipListSet<>();
        /**
         * Claims the orphaned-claim check found their session holds (by the claim's time): not put back into
         * {@link #claims} when the same value is applied again (a sweep re-applies every desktop).
         */
        final Map<String, Instant> confirmed = new ConcurrentHashMap<>();
        /** Desktops no session holds, by "hypervisor|publication". */
        final Map<String, Integer> unused = new ConcurrentHashMap<>();
        /**
         * How long making or refreshing a desktop takes, from the start until it is ready; and the desktops being
         * made or refreshed, with when each started.
         */
        final ProvisioningTime provisioningTime = new ProvisioningTime();
    }

    /** A claim (a desktop ASSIGNED to a session) by when it was made, then by desktop id. */
    record Claim(Instant at, String id) implements Comparable<Claim> {
        @Override
        public int compareTo(Claim other) {
            int byTime = at.compareTo(other.at);
            return byTime != 0 ? byTime : id.compareTo(other.id);
        }
    }

    private final Cache<String, DesktopState> desktops;
    Clock clock = Clock.systemUTC();
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private final Map<String, PoolFigures> pools = new ConcurrentHashMap<>();

    private DesktopWork(Cache<String, DesktopState> desktops) {
        this.desktops = desktops;
    }

    /** Follows {@code desktops} through {@code indexes} (the caller starts them). */
    static DesktopWork attach(Cache<String, DesktopState> desktops, CacheIndexes<DesktopState> indexes) {
        DesktopWork work = new DesktopWork(desktops);
        indexes.follow(work::update);
        return work;
    }

    PoolFigures of(String poolId) {
        return pools.computeIfAbsent(poolId, k -> new PoolFigures());
    }

    /**
     * Applies a desktop's new value (null: gone); one key at a time, so the figures move by whole entries. A value
     * older than the one applied is dropped: the cache's events come in order, but {@link #resync} reads desktops
     * while they come.
     */
    void update(String id, DesktopState value) {
        entries.compute(id, (k, old) -> old != null && value != null && old.version() > value.version() ? old
                : apply(k, old, value == null ? null : Entry.of(value), value == null ? null : value.changedAt()));
    }

    /** Whether a desktop's write has reached these figures (the cache's events come a moment after the write). */
    boolean knows(String id) {
        return entries.containsKey(id);
    }

    /**
     * Corrects the pool's figures from a full read of its desktops (a missed or reordered cache event): every read
     * desktop is applied unless a newer version is indexed already, and indexed desktops the read did not see are
     * looked up again.
     */
    void resync(String poolId, Collection<DesktopState> read) {
        Set<String> seen = new HashSet<>();
        for (DesktopState d : read) {
            seen.add(d.id());
            update(d.id(), d); // unless a newer version is applied already
        }
        for (String id : List.copyOf(of(poolId).ids)) {
            if (!seen.contains(id)) {
                update(id, desktops.get(id));
            }
        }
    }

    /** Ids of the pool's desktops on these hypervisors. */
    List<String> onHypervisors(String poolId, Collection<String> hypervisorIds) {
        List<String> ids = new ArrayList<>();
        Map<String, Set<String>> byHypervisor = of(poolId).byHypervisor;
        for (String hypervisorId : hypervisorIds) {
            ids.addAll(byHypervisor.getOrDefault(hypervisorId, Set.of()));
        }
        return ids;
    }

    /** Whether any desktop of the pool that no session holds has a publication for which {@code test} holds. */
    boolean anyUnused(String poolId, BiPredicate<String, Integer> test) {
        for (Map.Entry<String, Integer> e : of(poolId).unused.entrySet()) {
            int bar = e.getKey().lastIndexOf('|');
            if (e.getValue() > 0 && test.test(e.getKey().substring(0, bar),
                    Integer.parseInt(e.getKey().substring(bar + 1)))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Ids of the pool's desktops claimed (ASSIGNED to a session) within [from, to] and not confirmed; older claims
     * are dropped.
     */
    List<String> claims(String poolId, Instant from, Instant to) {
        NavigableSet<Claim> claims = of(poolId).claims;
        // older than the window: such a claim only comes back with a new write, which is a new event
        claims.headSet(new Claim(from, ""), false).clear();
        List<String> ids = new ArrayList<>();
        for (Claim c : claims) {
            if (c.at().isAfter(to)) {
                break;
            }
            ids.add(c.id());
        }
        return ids;
    }

    /** The claim of desktop {@code id} made at {@code claimedAt} is held by its session: {@link #claims} skips it. */
    void confirmed(String poolId, String id, Instant claimedAt) {
        PoolFigures p = of(poolId);
        p.confirmed.put(id, claimedAt);
        p.claims.remove(new Claim(claimedAt, id));
    }

    /**
     * {@code written}: when the writer made the new value. The instants of a desktop's making come from its values,
     * not from when this node's events arrive, so every node that saw the desktop become coming measures the same
     * provisioning time however late its events come (one node of three told ETAs 20 % short in a storm: it had begun
     * to follow the cache while the spares were being made and dated them from then). A node that starts following
     * while a desktop is under way still dates it from the first value it sees, the latest write before it started.
     */
    private Entry apply(String id, Entry old, Entry next, Instant written) {
        Instant now = clock.instant();
        Instant at = written == null || written.isAfter(now) ? now : written;
        boolean wasComing = old != null && old.comingSince() != null;
        if (next != null && next.coming()) { // still coming: it keeps the instant it became coming
            next = next.since(wasComing ? old.comingSince() : at);
            if (!wasComing) {
                of(next.poolId()).provisioningTime.started(id, next.comingSince());
            }
        } else if (wasComing) { // ready now (a provisioning time), or failed or gone (none)
            of(old.poolId()).provisioningTime.ended(id, old.comingSince(), next != null && next.ready()
                    ? java.time.Duration.between(old.comingSince(), at) : null, now);
        }
        if (old != null) {
            change(id, old, -1);
            if (next == null) {
                of(old.poolId()).confirmed.remove(id);
            }
        }
        if (next != null) {
            change(id, next, +1);
        }
        return next;
    }

    private void change(String id, Entry e, int by) {
        PoolFigures p = of(e.poolId());
        if (by > 0) {
            p.ids.add(id);
        } else {
            p.ids.remove(id);
        }
        if (e.hypervisorId() != null) {
            if (by > 0) {
                p.byHypervisor.computeIfAbsent(e.hypervisorId(), k -> ConcurrentHashMap.newKeySet()).add(id);
            } else {
                p.byHypervisor.computeIfPresent(e.hypervisorId(), (k, ids) -> ids.remove(id) && ids.isEmpty() ? null
                        : ids);
            }
        }
        p.byStatus.merge(e.status(), by, (a, b) -> a + b == 0 ? null : a + b);
        if (e.status().counted()) { // a desktop's state says whether it counts towards the pool's size
            p.counted.addAndGet(by);
        }
        if (e.held()) {
            p.held.addAndGet(by);
        }
        if (e.work()) {
            if (by > 0) {
                p.work.add(id);
            } else {
                p.work.remove(id);
            }
        }
        if (e.claimedAt() != null) {
            Claim claim = new Claim(e.claimedAt(), id);
            if (by < 0) {
                p.claims.remove(claim);
            } else if (!e.claimedAt().equals(p.confirmed.get(id))) {
                p.confirmed.remove(id); // a new write is a new claim (or none): the confirmation was of the last one
                p.claims.add(claim);
            }
        } else if (by > 0) {
            p.confirmed.remove(id);
        }
        if (e.unused()) {
            p.unused.merge(e.placement(), by, (a, b) -> a + b == 0 ? null : a + b);
        }
    }
}
