package org.vdibroker.desktop;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.hypervisor.TaskRef;

/**
 * Every change of a desktop's live state, one method per transition of the life cycle in ARCHITECTURE.md. Each
 * checks its precondition on the value it is given and writes with a conditional replace against that value: it
 * returns the new state if this caller won, empty if the desktop changed meanwhile (someone else won) or the
 * transition does not apply. Nothing here blocks or locks.
 */
@ApplicationScoped
public class DesktopTransitions {

    @Inject
    EmbeddedCacheManager manager;

    Clock clock = Clock.systemUTC();

    private volatile Cache<String, DesktopState> cache;

    Cache<String, DesktopState> cache() {
        Cache<String, DesktopState> c = cache;
        if (c == null) {
            c = manager.getCache(CacheNames.DESKTOPS);
            cache = c;
        }
        return c;
    }

    /** A new desktop whose clone was just requested. */
    public Optional<DesktopState> created(String id, String poolId, String hypervisorId, String name, String owner,
            int publication, TaskRef cloneTask) {
        DesktopState state = new DesktopState(id, poolId, hypervisorId, name, null, DesktopStatus.PROVISIONING, null,
                owner, null, publication, cloneTask, 0, now(), 1);
        return cache().putIfAbsent(id, state) == null ? Optional.of(state) : Optional.empty();
    }

    /** PROVISIONING -> STARTING: the clone exists, power-on requested. */
    public Optional<DesktopState> provisioned(DesktopState current, String vmRef, TaskRef powerOnTask) {
        if (current.status() != DesktopStatus.PROVISIONING) {
            return Optional.empty();
        }
        return write(current, new DesktopState(current.id(), current.poolId(), current.hypervisorId(),
                current.name(), vmRef, DesktopStatus.STARTING, null, current.owner(), current.ownerSubject(),
                current.publication(), powerOnTask, 0, now(), current.version() + 1));
    }

    /** STARTING -> READY: booted (the hypervisor says it runs, or the agent said ready). */
    public Optional<DesktopState> started(DesktopState current) {
        if (current.status() != DesktopStatus.STARTING) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.READY, null, current.owner(), null, 0, now()));
    }

    /**
     * READY -> ASSIGNED for a floating desktop or an unowned dedicated one; ASSIGNED (owner, no session) -> ASSIGNED
     * (owner, session) for the owner of a dedicated desktop coming back. A dedicated desktop is written with the
     * claimant's subject and current name: an owner known only by name is bound to this subject by this very
     * conditional write, so of two identities with that name exactly one can ever get it.
     */
    public Optional<DesktopState> claimed(DesktopState current, String sessionId, String subject, String user,
            boolean dedicated) {
        if (current.sessionId() != null) {
            return Optional.empty();
        }
        boolean free = current.status() == DesktopStatus.READY && current.owner() == null;
        boolean ownersOwn = dedicated && subject != null && current.ownedBy(subject, user)
                && (current.status() == DesktopStatus.READY || current.status() == DesktopStatus.ASSIGNED
                        || current.status() == DesktopStatus.DISCONNECTED);
        if (!free && !ownersOwn) {
            return Optional.empty();
        }
        DesktopStatus status = current.status() == DesktopStatus.DISCONNECTED ? DesktopStatus.DISCONNECTED
                : DesktopStatus.ASSIGNED;
        return write(current, new DesktopState(current.id(), current.poolId(), current.hypervisorId(),
                current.name(), current.vmRef(), status, sessionId, dedicated ? user : null,
                dedicated ? subject : null, current.publication(), null, current.failures(), now(),
                current.version() + 1));
    }

    /**
     * ASSIGNED (never connected) -> READY: the claim could not be handed to its session (it was given another desktop
     * meanwhile); nobody used the desktop, so it needs no refresh.
     */
    public Optional<DesktopState> unclaimed(DesktopState current, String sessionId) {
        if (!Objects.equals(current.sessionId(), sessionId) || current.status() != DesktopStatus.ASSIGNED) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.READY, null, current.owner(), null, 0, now()));
    }

    /** ASSIGNED/DISCONNECTED -> IN_USE: the user logged on. */
    public Optional<DesktopState> connected(DesktopState current, String sessionId) {
        if (!Objects.equals(current.sessionId(), sessionId)
                || !(current.status() == DesktopStatus.ASSIGNED || current.status() == DesktopStatus.DISCONNECTED)) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.IN_USE, sessionId, current.owner(), null, 0, now()));
    }

    /** IN_USE -> DISCONNECTED: the client went away, the user's desktop session stays. */
    public Optional<DesktopState> disconnected(DesktopState current, String sessionId) {
        if (!Objects.equals(current.sessionId(), sessionId) || current.status() != DesktopStatus.IN_USE) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.DISCONNECTED, sessionId, current.owner(), null, 0, now()));
    }

    /** Held -> REFRESHING (floating, refresh requested): nobody gets it before the refresh is done (invariant 3). */
    public Optional<DesktopState> releasedForRefresh(DesktopState current, String sessionId, TaskRef revertTask) {
        if (!Objects.equals(current.sessionId(), sessionId) || !current.status().held()) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.REFRESHING, null, null, revertTask, 0, now()));
    }

    /**
     * Held -> RETIRING (floating, a newer publication exists): instead of being reverted to the old publication it
     * is deleted, and the pool manager makes a desktop of the current one in its place.
     */
    public Optional<DesktopState> releasedForReplacement(DesktopState current, String sessionId) {
        if (!Objects.equals(current.sessionId(), sessionId) || !current.status().held() || current.owner() != null) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.RETIRING, null, null, null, current.failures(), now()));
    }

    /**
     * READY and unowned, or REFRESHING with no step issued yet -> RETIRING: a desktop of an older publication that
     * no session holds is replaced rather than handed out or reverted to the old publication. A dedicated desktop
     * only refreshes when an admin recycles it, so an owned one is replaced only then (its owner is forgotten first).
     */
    public Optional<DesktopState> superseded(DesktopState current) {
        boolean unused = current.sessionId() == null && current.task() == null
                && ((current.status() == DesktopStatus.READY && current.owner() == null)
                        || current.status() == DesktopStatus.REFRESHING);
        if (!unused) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.RETIRING, null, null, null, current.failures(), now()));
    }

    /** Held -> ASSIGNED to its owner with no session (dedicated): it waits for its owner. */
    public Optional<DesktopState> releasedToOwner(DesktopState current, String sessionId) {
        if (!Objects.equals(current.sessionId(), sessionId) || !current.status().held()) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.ASSIGNED, null, current.owner(), null, 0, now()));
    }

    /** READY, or kept for its owner without a session -> REFRESHING: an admin asked for a fresh desktop. */
    public Optional<DesktopState> recycled(DesktopState current) {
        boolean unused = current.sessionId() == null && (current.status() == DesktopStatus.READY
                || current.status() == DesktopStatus.ASSIGNED);
        if (!unused) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.REFRESHING, null, current.owner(), null, 0, now()));
    }

    /**
     * REFRESHING -> STARTING: reverted to the template, power-on of {@code vmRef} requested. A refresh by re-clone
     * made the desktop a new VM of the same name: then {@code vmRef} is the new VM's.
     */
    public Optional<DesktopState> refreshed(DesktopState current, String vmRef, TaskRef powerOnTask) {
        if (current.status() != DesktopStatus.REFRESHING) {
            return Optional.empty();
        }
        DesktopState next = current.next(DesktopStatus.STARTING, null, current.owner(), powerOnTask, 0, now());
        if (!java.util.Objects.equals(vmRef, current.vmRef())) {
            next = new DesktopState(next.id(), next.poolId(), next.hypervisorId(), next.name(), vmRef, next.status(),
                    next.sessionId(), next.owner(), next.ownerSubject(), next.publication(), next.task(),
                    next.failures(), next.changedAt(),
                    next.version());
        }
        return write(current, next);
    }

    /** The pending step (refresh, retire) was handed to the hypervisor as {@code task}. */
    public Optional<DesktopState> stepIssued(DesktopState current, TaskRef task) {
        if (current.task() != null) {
            return Optional.empty();
        }
        return write(current, current.next(current.status(), current.sessionId(), current.owner(), task,
                current.failures(), now()));
    }

    /** The pending step failed but may be tried again with {@code retryTask}; counts the failure. */
    public Optional<DesktopState> retried(DesktopState current, TaskRef retryTask) {
        return write(current, current.next(current.status(), current.sessionId(), current.owner(), retryTask,
                current.failures() + 1, now()));
    }

    /** Any -> FAILED: an operation failed for good; the pool manager retires it. */
    public Optional<DesktopState> failed(DesktopState current) {
        if (current.status() == DesktopStatus.FAILED || current.status() == DesktopStatus.RETIRING) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.FAILED, null, current.owner(), null,
                current.failures() + 1, now()));
    }

    /** Any unheld -> RETIRING: deletion requested. */
    public Optional<DesktopState> retiring(DesktopState current, TaskRef deleteTask) {
        if (current.sessionId() != null) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.RETIRING, null, null, deleteTask, current.failures(), now()));
    }

    /** Any -> LOST: its hypervisor stopped answering or the VM vanished. */
    public Optional<DesktopState> lost(DesktopState current) {
        if (current.status() == DesktopStatus.LOST) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.LOST, current.sessionId(), current.owner(), null,
                current.failures(), now()));
    }

    /** LOST (held) -> LOST: the session on it was told and ended; the desktop no longer names it. */
    public Optional<DesktopState> lostReleased(DesktopState current, String sessionId) {
        if (current.status() != DesktopStatus.LOST || !Objects.equals(current.sessionId(), sessionId)) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.LOST, null, current.owner(), null, current.failures(),
                now()));
    }

    /**
     * LOST -> STARTING: its hypervisor is back and the VM still exists; a dedicated desktop returns to its owner
     * (power-on requested), since the owner's work lives on it.
     */
    public Optional<DesktopState> recovered(DesktopState current, TaskRef powerOnTask) {
        if (current.status() != DesktopStatus.LOST || current.sessionId() != null) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.STARTING, null, current.owner(), powerOnTask, 0, now()));
    }

    /** Unused READY/ASSIGNED -> STARTING: its VM was powered off behind the broker's back; power-on requested. */
    public Optional<DesktopState> repaired(DesktopState current, TaskRef powerOnTask) {
        boolean unused = current.sessionId() == null && current.task() == null
                && (current.status() == DesktopStatus.READY || current.status() == DesktopStatus.ASSIGNED);
        if (!unused) {
            return Optional.empty();
        }
        return write(current, current.next(DesktopStatus.STARTING, null, current.owner(), powerOnTask, 0, now()));
    }

    /**
     * A desktop the live state had forgotten (whole-cluster restart), rebuilt from the inventory and its VM:
     * {@code status} is ASSIGNED (to its owner, no session), STARTING (power-on {@code task}) or REFRESHING (no task
     * yet: nobody can tell who used it last, so it is reverted before anyone gets it). {@code ownerSubject} is null
     * for an owner the inventory knows only by name (assigned before owners had subjects).
     */
    public Optional<DesktopState> rebuilt(String id, String poolId, String hypervisorId, String name, String vmRef,
            String owner, String ownerSubject, int publication, DesktopStatus status, TaskRef task) {
        if (status != DesktopStatus.ASSIGNED && status != DesktopStatus.STARTING
                && status != DesktopStatus.REFRESHING) {
            throw new IllegalArgumentException("a desktop is not rebuilt as " + status);
        }
        DesktopState state = new DesktopState(id, poolId, hypervisorId, name, vmRef, status, null, owner,
                owner == null ? null : ownerSubject, publication, task, 0, now(), anewVersion());
        return cache().putIfAbsent(id, state) == null ? Optional.of(state) : Optional.empty();
    }

    /**
     * A VM with the pool's naming that the broker had no record of becomes a desktop of the pool: REFRESHING with no
     * task, so it is reverted to the template before anyone gets it. It counts as of {@code publication} (the pool's
     * current one there): the admin asked for such VMs to be kept, so a rollout must not replace them at once.
     */
    public Optional<DesktopState> adopted(String id, String poolId, String hypervisorId, String name, String vmRef,
            int publication) {
        DesktopState state = new DesktopState(id, poolId, hypervisorId, name, vmRef, DesktopStatus.REFRESHING, null,
                null, null, publication, null, 0, now(), anewVersion());
        return cache().putIfAbsent(id, state) == null ? Optional.of(state) : Optional.empty();
    }

    /** RETIRING -> DELETED: the VM is gone; the live entry is removed. */
    public boolean deleted(DesktopState current) {
        return cache().remove(current.id(), current);
    }

    private Optional<DesktopState> write(DesktopState expected, DesktopState next) {
        return cache().replace(expected.id(), expected, next) ? Optional.of(next) : Optional.empty();
    }

    private Instant now() {
        return clock.instant();
    }

    /**
     * The first version of a desktop written again under an id whose live entry was lost or removed (rebuilt from the
     * inventory): the clock's milliseconds, above every version of its earlier life (which counted up from 1, one per
     * write), so the node-local indexes, which drop events older than what they saw of an id (CacheIndexes), take it.
     */
    private long anewVersion() {
        return Math.max(2, now().toEpochMilli());
    }
}
