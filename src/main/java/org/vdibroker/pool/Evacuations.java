package org.vdibroker.pool;

import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;
import org.vdibroker.api.ProblemException;
import org.vdibroker.audit.AuditService;
import org.vdibroker.cluster.KeyOwnership;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;
import org.vdibroker.desktop.DesktopTransitions;
import org.vdibroker.hypervisor.EvacuationRepresentation;
import org.vdibroker.hypervisor.HypervisorService;
import org.vdibroker.persistence.Database;
import org.vdibroker.session.SessionStore;

/**
 * Empties a hypervisor so its pools move to their other hypervisors (e.g. XenServer to Hyper-V). An evacuating
 * hypervisor is in maintenance, so it gets no new desktops. Its unused desktops are not counted towards their pool's
 * size, so the pool manager makes their replacements elsewhere first; a ready one is retired only while the pool
 * keeps its spare count without it. Desktops in use stay until their user logs off, then are retired instead of
 * refreshed (SessionService); dedicated desktops stay with their owner, listed as waiting, until an admin recycles
 * them. Progress is audited whenever it changes; once nothing is left the hypervisor can be deleted.
 */
@ApplicationScoped
public class Evacuations {

    private static final Logger LOG = Logger.getLogger(Evacuations.class);

    @Inject
    Database database;
    @Inject
    HypervisorService hypervisors;
    @Inject
    PoolCatalog catalog;
    @Inject
    DesktopService desktops;
    @Inject
    DesktopTransitions transitions;
    @Inject
    SessionStore sessions;
    @Inject
    SpareTarget spareTarget;
    @Inject
    KeyOwnership ownership;
    @Inject
    AuditService audit;

    Clock clock = Clock.systemUTC();

    private volatile Set<String> evacuating = Set.of();

    public boolean isEvacuating(String hypervisorId) {
        return evacuating.contains(hypervisorId);
    }

    /**
     * A desktop the pool manager should replace rather than count: unused, unowned, on an evacuating hypervisor.
     */
    public boolean leaving(DesktopState d) {
        return isEvacuating(d.hypervisorId()) && d.sessionId() == null && d.owner() == null && !d.status().held();
    }

    /**
     * Whether the pool may have desktops no session holds on an evacuating hypervisor (from the local index): if
     * not, none of its desktops is {@link #leaving}.
     */
    public boolean anyLeaving(String poolId) {
        return !evacuating.isEmpty() && desktops.anyUnused(poolId, (hypervisorId, publication) ->
                isEvacuating(hypervisorId));
    }

    /** Starts (or, when under way, shows) the evacuation of a hypervisor. */
    public EvacuationRepresentation start(String hypervisorId, String actor) {
        hypervisors.get(hypervisorId); // 404 when it does not exist
        boolean started = insert(hypervisorId, actor);
        hypervisors.maintenance(hypervisorId, true, actor);
        reload();
        if (started) {
            audit.record("hypervisor.evacuation-started", actor, null, null, null, hypervisorId);
        }
        return progress(hypervisorId).orElseThrow();
    }

    /** Undoes an evacuation: the hypervisor leaves maintenance and takes desktops again; nothing moved comes back. */
    public void cancel(String hypervisorId, String actor) {
        if (!remove(hypervisorId)) {
            throw new ProblemException(404, "not-evacuating", "Not evacuating",
                    "hypervisor " + hypervisorId + " is not being evacuated");
        }
        reload();
        hypervisors.maintenance(hypervisorId, false, actor);
        audit.record("hypervisor.evacuation-cancelled", actor, null, null, null, hypervisorId);
    }

    /** Progress of the hypervisor's evacuation, empty when none is under way. */
    public Optional<EvacuationRepresentation> progress(String hypervisorId) {
        Optional<EvacuationEntity> e = find(hypervisorId);
        return e.map(x -> measure(x));
    }

    /**
     * Before an evacuated hypervisor is deleted: its pools' templates on it go (nothing will be made there again).
     * Refused while desktops are left on it.
     */
    public void forgetTemplatesIfEvacuated(String hypervisorId) {
        Optional<EvacuationRepresentation> p = progress(hypervisorId);
        if (p.isEmpty()) {
            return;
        }
        if (!p.get().done()) {
            throw new ProblemException(409, "hypervisor-in-use", "Hypervisor in use", "hypervisor " + hypervisorId
                    + " is still being evacuated: " + p.get().summary());
        }
        dropTemplatesAndEvacuation(hypervisorId);
        catalog.reload();
        reload();
    }

    /**
     * One bounded round for one pool, on the pool's primary owner, before the pool manager advances desktops. The
     * pool's desktops are read only when the local index has one no session holds on an evacuating hypervisor.
     */
    public void step(Pool pool) {
        if (!anyLeaving(pool.id())) {
            return;
        }
        List<DesktopState> all = desktops.ofPool(pool.id());
        long ready = all.stream().filter(Evacuations::spare).count();
        long floor = spareTarget.at(pool, clock.instant());
        boolean queue = sessions.queueLength(pool.id()) > 0;
        for (DesktopState d : all) {
            if (!isEvacuating(d.hypervisorId()) || d.sessionId() != null) {
                continue;
            }
            // a refresh not yet issued (a logoff before the evacuation, or an admin's recycle of a dedicated
            // desktop): replace it instead, its owner gets a new desktop elsewhere
            boolean refreshPending = d.status() == DesktopStatus.REFRESHING && d.task() == null;
            boolean retireSpare = spare(d) && !queue && ready - 1 >= floor;
            if ((refreshPending || retireSpare) && transitions.superseded(d).isPresent()) {
                desktops.forgetOwner(d);
                if (retireSpare) {
                    ready--;
                }
                audit.record("desktop.evacuated", "pool-manager", pool.id(), d.id(), null, d.hypervisorId());
            }
        }
    }

    private static boolean spare(DesktopState d) {
        return d.status() == DesktopStatus.READY && d.owner() == null && d.sessionId() == null;
    }

    private EvacuationRepresentation measure(EvacuationEntity e) {
        int left = 0;
        int inUse = 0;
        List<EvacuationRepresentation.WaitingOwner> waiting = new ArrayList<>();
        for (Pool pool : catalog.all()) {
            for (DesktopState d : desktops.ofPool(pool.id())) {
                if (!e.hypervisorId.equals(d.hypervisorId()) || d.status() == DesktopStatus.DELETED) {
                    continue;
                }
                left++;
                if (d.sessionId() != null) {
                    inUse++;
                } else if (d.owner() != null) {
                    waiting.add(new EvacuationRepresentation.WaitingOwner(d.id(), d.poolId(), d.owner()));
                }
            }
        }
        return new EvacuationRepresentation(e.startedAt, e.startedBy, left, inUse, List.copyOf(waiting), left == 0,
                e.finishedAt);
    }

    /** Audits progress when it changed; on the node owning the evacuation's key, so once in the cluster. */
    @Scheduled(every = "2s", delayed = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void track() {
        try {
            reload();
            for (String id : evacuating) {
                if (ownership.isPrimaryOwner("evacuation:" + id)) {
                    find(id).ifPresent(this::audited);
                }
            }
        } catch (RuntimeException e) {
            LOG.warnf("Evacuations not tracked (database unavailable?): %s", e.getMessage());
        }
    }

    private void audited(EvacuationEntity e) {
        EvacuationRepresentation p = measure(e);
        if (p.summary().equals(e.lastProgress)) {
            return;
        }
        boolean finished = p.done() && e.finishedAt == null;
        if (record(e.hypervisorId, p.summary(), finished)) {
            audit.record("hypervisor.evacuation-progress", "pool-manager", null, null, null,
                    e.hypervisorId + " " + p.summary());
            if (finished) {
                audit.record("hypervisor.evacuated", "pool-manager", null, null, null, e.hypervisorId);
            }
        }
    }

    void onStart(@Observes StartupEvent event) {
        try {
            reload();
        } catch (RuntimeException e) {
            LOG.warnf("Evacuations not loaded: %s", e.getMessage());
        }
    }

    @Transactional
    void reload() {
        evacuating = Set.copyOf(new HashSet<>(database.session()
                .createSelectionQuery("select e.hypervisorId from EvacuationEntity e", String.class).getResultList()));
    }

    @Transactional
    Optional<EvacuationEntity> find(String hypervisorId) {
        return Optional.ofNullable(database.session().find(EvacuationEntity.class, hypervisorId));
    }

    @Transactional
    boolean insert(String hypervisorId, String actor) {
        if (database.session().find(EvacuationEntity.class, hypervisorId) != null) {
            return false;
        }
        EvacuationEntity e = new EvacuationEntity();
        e.hypervisorId = hypervisorId;
        e.startedAt = clock.instant();
        e.startedBy = actor;
        database.session().persist(e);
        return true;
    }

    @Transactional
    boolean remove(String hypervisorId) {
        EvacuationEntity e = database.session().find(EvacuationEntity.class, hypervisorId);
        if (e == null) {
            return false;
        }
        database.session().remove(e);
        return true;
    }

    /** Stores the audited summary; false when another writer stored it first. */
    @Transactional
    boolean record(String hypervisorId, String summary, boolean finished) {
        EvacuationEntity e = database.session().find(EvacuationEntity.class, hypervisorId);
        if (e == null || summary.equals(e.lastProgress)) {
            return false;
        }
        e.lastProgress = summary;
        if (finished && e.finishedAt == null) {
            e.finishedAt = clock.instant();
        }
        return true;
    }

    @Transactional
    void dropTemplatesAndEvacuation(String hypervisorId) {
        for (PoolEntity pool : database.session().createSelectionQuery(
                "select distinct t.pool from PoolTemplateEntity t where t.hypervisorId = :id", PoolEntity.class)
                .setParameter("id", hypervisorId).getResultList()) {
            pool.templates.removeIf(t -> hypervisorId.equals(t.hypervisorId));
        }
        EvacuationEntity e = database.session().find(EvacuationEntity.class, hypervisorId);
        if (e != null) {
            database.session().remove(e);
        }
    }
}
