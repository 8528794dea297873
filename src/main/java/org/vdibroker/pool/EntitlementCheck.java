package org.vdibroker.pool;

import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.vdibroker.audit.AuditService;
import org.vdibroker.cluster.KeyOwnership;
import org.vdibroker.persistence.Database;
import org.vdibroker.pool.EntitlementEmbeddable.GroupState;
import org.vdibroker.security.GroupDirectory;
import org.vdibroker.security.IdentityProviderUnavailableException;

/**
 * Checks the groups pools are entitled to against Keycloak every {@code broker.entitlements.check-interval}, on the
 * node that manages each pool. Tokens carry group paths, so a group renamed in Keycloak silently stops entitling its
 * members, and a new group created under a removed group's path silently starts to: both are reported in the pool's
 * status (and audited) for an admin to decide, never followed automatically.
 */
@ApplicationScoped
public class EntitlementCheck {

    private static final Logger LOG = Logger.getLogger(EntitlementCheck.class);

    @Inject
    Database database;
    @Inject
    GroupDirectory directory;
    @Inject
    KeyOwnership ownership;
    @Inject
    AuditService audit;

    Clock clock = Clock.systemUTC();

    /** One group entitlement as stored. */
    record Entitled(String poolId, String path, String groupId, GroupState state, String detail) {
    }

    /** The outcome of checking one group entitlement. */
    record Outcome(String groupId, GroupState state, String detail) {
    }

    @Scheduled(every = "${broker.entitlements.check-interval}", delayed = "5s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void run() {
        if (!directory.enabled()) {
            return;
        }
        List<Entitled> all;
        try {
            all = entitled();
        } catch (RuntimeException e) {
            LOG.debugf("Entitlement check skipped, database unavailable: %s", e.getMessage());
            return;
        }
        for (Entitled x : all) {
            if (!ownership.isPrimaryOwner(x.poolId())) {
                continue;
            }
            Outcome outcome;
            try {
                outcome = check(x);
            } catch (IdentityProviderUnavailableException e) {
                return; // logged by the directory; states stay as they were until Keycloak answers again
            }
            record(x, outcome);
        }
    }

    /** What Keycloak says now of the group an entitlement was saved for. */
    Outcome check(Entitled x) {
        if (x.groupId() == null) {
            return directory.byPath(x.path())
                    .map(g -> new Outcome(g.id(), GroupState.OK, null))
                    .orElseGet(() -> new Outcome(null, GroupState.MISSING, "the identity provider has no group "
                            + x.path() + "; nobody is entitled to this pool through it"));
        }
        Optional<GroupDirectory.Group> same = directory.byId(x.groupId());
        if (same.isPresent()) {
            String now = same.get().path();
            return now.equals(x.path()) ? new Outcome(x.groupId(), GroupState.OK, null)
                    : new Outcome(x.groupId(), GroupState.RENAMED, "the group was renamed or moved to " + now
                            + " in the identity provider; its members are no longer entitled through " + x.path()
                            + " until the pool names the new path");
        }
        return directory.byPath(x.path())
                .map(other -> new Outcome(x.groupId(), GroupState.REPLACED, "the group saved with the pool was "
                        + "removed from the identity provider and a different group now has the path " + x.path()
                        + "; its members are entitled to this pool: save the pool again to accept it, or remove it"))
                .orElseGet(() -> new Outcome(x.groupId(), GroupState.REMOVED, "the group " + x.path()
                        + " was removed from the identity provider; nobody is entitled to this pool through it"));
    }

    private void record(Entitled x, Outcome outcome) {
        boolean changed = outcome.state() != x.state() || !Objects.equals(outcome.detail(), x.detail())
                || !Objects.equals(outcome.groupId(), x.groupId());
        try {
            store(x, outcome, clock.instant());
        } catch (RuntimeException e) {
            LOG.debugf("Entitlement check of pool %s not stored: %s", x.poolId(), e.getMessage());
            return;
        }
        if (changed && outcome.state() != GroupState.OK) {
            LOG.warnf("Pool %s, group %s: %s", x.poolId(), x.path(), outcome.detail());
            audit.record("pool.entitlement-" + outcome.state().name().toLowerCase(), "entitlement-check",
                    x.poolId(), null, null, outcome.detail());
        } else if (changed && x.state() != null && x.state() != GroupState.UNVERIFIED) {
            LOG.infof("Pool %s, group %s: found again in the identity provider", x.poolId(), x.path());
        }
    }

    @Transactional
    List<Entitled> entitled() {
        return database.session().createSelectionQuery(
                "select p.id, e.name, e.groupId, e.checkState, e.checkDetail from PoolEntity p join p.entitlements e "
                        + "where e.kind = :kind order by p.id, e.name", Object[].class)
                .setParameter("kind", EntitlementEmbeddable.Kind.GROUP).getResultList().stream()
                .map(r -> new Entitled((String) r[0], (String) r[1], (String) r[2], (GroupState) r[3],
                        (String) r[4]))
                .toList();
    }

    /**
     * Updates the rows directly rather than through the pool entity, so a check never bumps the pool's version or
     * races an admin's edit: an edit in between replaces the rows and this update then matches nothing.
     */
    @Transactional
    void store(Entitled x, Outcome outcome, Instant at) {
        // matched on the group id it was checked with too (null needs its own test: PostgreSQL cannot type a null
        // parameter in "? is null")
        var update = database.session().createNativeMutationQuery("update pool_entitlement set group_id = :groupId, "
                + "check_state = :state, check_detail = :detail, checked_at = :at "
                + "where pool_id = :pool and kind = 'GROUP' and name = :name and "
                + (x.groupId() == null ? "group_id is null" : "group_id = :oldGroupId"))
                .setParameter("groupId", outcome.groupId(), String.class).setParameter("state", outcome.state().name())
                .setParameter("detail", outcome.detail(), String.class).setParameter("at", at)
                .setParameter("pool", x.poolId()).setParameter("name", x.path());
        if (x.groupId() != null) {
            update.setParameter("oldGroupId", x.groupId());
        }
        update.executeUpdate();
    }
}
