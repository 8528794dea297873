package org.vdibroker.pool;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.transaction.Transactional;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.vdibroker.api.ProblemException;
import org.vdibroker.audit.AuditService;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.hypervisor.HypervisorEntity;
import org.vdibroker.persistence.Database;
import org.vdibroker.protocol.ConnectionSettings;
import org.vdibroker.protocol.ConnectionSettingsSchema;
import org.vdibroker.security.GroupDirectory;
import org.vdibroker.security.IdentityProviderUnavailableException;

/** Admin operations on pools; the catalog every node serves from is reloaded after each change. */
@ApplicationScoped
public class PoolService {

    @Inject
    Database database;
    @Inject
    PoolCatalog catalog;
    @Inject
    DesktopService desktops;
    @Inject
    AuditService audit;
    @Inject
    TemplateChecks templateChecks;
    @Inject
    GroupDirectory groups;

    Clock clock = Clock.systemUTC();

    @Transactional
    public List<PoolRepresentation> list() {
        return database.session().createSelectionQuery("from PoolEntity order by id", PoolEntity.class)
                .getResultList().stream().map(PoolService::toRepresentation).toList();
    }

    @Transactional
    public PoolRepresentation get(String id) {
        return toRepresentation(find(id));
    }

    /** Creates a pool; its groups must exist in Keycloak (when group checks are on). */
    public PoolRepresentation create(PoolRepresentation r, String actor) {
        return create(r, actor, resolveGroups(r));
    }

    /**
     * Creates a pool without asking Keycloak about its groups now (the demo set-up, which may run before Keycloak
     * answers): they stay UNVERIFIED until the next {@link EntitlementCheck}.
     */
    public PoolRepresentation createDeferringGroupChecks(PoolRepresentation r, String actor) {
        return create(r, actor, Map.of());
    }

    private PoolRepresentation create(PoolRepresentation r, String actor, Map<String, GroupDirectory.Group> found) {
        PoolRepresentation created = createInTx(r, found, liveChecks(r.id(), r));
        catalog.reload();
        audit.record("pool.created", actor, r.id(), null, null, null);
        return created;
    }

    public PoolRepresentation update(String id, PoolRepresentation r, String actor) {
        if (r.id() != null && !r.id().equals(id)) {
            throw ProblemException.invalid("the id in the body differs from the id in the path");
        }
        Map<String, GroupDirectory.Group> found = resolveGroups(r);
        PoolRepresentation updated = updateInTx(id, r, found, liveChecks(id, r));
        catalog.reload();
        audit.record("pool.updated", actor, id, null, null, null);
        return updated;
    }

    /**
     * A new publication of some or all of the pool's templates: the pool manager then replaces desktops of older
     * publications (PublicationRollout), never one a session holds.
     */
    public PoolRepresentation publish(String id, PublishRequest request, String actor) {
        PoolRepresentation published = publishInTx(id, request);
        catalog.reload();
        audit.record("pool.published", actor, id, null, null, published.templates().stream()
                .map(t -> t.hypervisorId() + ": publication " + t.publication() + " (" + t.templateRef() + ")")
                .collect(java.util.stream.Collectors.joining(", ")));
        return published;
    }

    @Transactional
    PoolRepresentation publishInTx(String id, PublishRequest request) {
        PoolEntity e = find(id);
        List<PublishRequest.Template> wanted = request == null || request.templates() == null
                ? e.templates.stream().map(t -> new PublishRequest.Template(t.hypervisorId, null)).toList()
                : request.templates();
        Map<String, Object> errors = new LinkedHashMap<>();
        LinkedHashSet<String> seen = new LinkedHashSet<>();
        for (PublishRequest.Template t : wanted) {
            if (!seen.add(t.hypervisorId())) {
                errors.put("templates", "one entry per hypervisor: " + t.hypervisorId() + " appears twice");
            } else if (e.templates.stream().noneMatch(x -> x.hypervisorId.equals(t.hypervisorId()))) {
                errors.put("templates", "pool " + id + " has no template on hypervisor " + t.hypervisorId()
                        + "; add one with PUT first");
            }
        }
        if (wanted.isEmpty()) {
            errors.put("templates", "name at least one template, or leave the list out to publish all");
        }
        if (!errors.isEmpty()) {
            throw new ProblemException(400, "invalid-publication", "Invalid publication",
                    "the publication is invalid", errors);
        }
        for (PublishRequest.Template t : wanted) {
            PoolTemplateEntity template = e.templates.stream().filter(x -> x.hypervisorId.equals(t.hypervisorId()))
                    .findFirst().orElseThrow();
            if (t.templateRef() != null) {
                template.templateRef = t.templateRef();
            }
            template.publication++;
        }
        e.updatedAt = clock.instant();
        return toRepresentation(e);
    }

    public void delete(String id, String actor) {
        if (!desktops.ofPool(id).isEmpty()) {
            throw new ProblemException(409, "pool-has-desktops", "Pool has desktops", "pool " + id
                    + " still has desktops: set minSize, spare and maxSize to 0, let them retire, then delete");
        }
        deleteInTx(id);
        catalog.reload();
        audit.record("pool.deleted", actor, id, null, null, null);
    }

    /**
     * The pool's new or changed templates checked against their live hypervisors, before the transaction that saves
     * it: no database transaction (nor its connection) is held while a hypervisor answers, and no transaction
     * context reaches the threads of the hypervisor's breaker and timeout (a commit racing such a thread failed with
     * Narayana's "multiple threads active"). A concurrent change of the pool between this read and the save only
     * changes which templates counted as changed.
     */
    private Map<String, Object> liveChecks(String poolId, PoolRepresentation r) {
        TemplateChecks.Saved saved = savedInTx(poolId, r);
        Map<String, Object> errors = new LinkedHashMap<>();
        templateChecks.check(poolId, r.templates(), saved.templates(), saved.sizeChanged(), r.desktop(),
                saved.hypervisors(), errors);
        return errors;
    }

    /** What the live checks need from the database: the pool as saved, its templates' hypervisors (read only). */
    @Transactional
    TemplateChecks.Saved savedInTx(String poolId, PoolRepresentation r) {
        PoolEntity e = poolId == null ? null : database.session().find(PoolEntity.class, poolId);
        Map<String, String> stored = new LinkedHashMap<>();
        boolean sizeChanged = true;
        if (e != null) {
            e.templates.forEach(t -> stored.put(t.hypervisorId, t.templateRef));
            sizeChanged = e.desktopVcpus != r.desktop().vcpus() || e.desktopMemoryMb != r.desktop().memoryMb();
        }
        Map<String, HypervisorEntity> hypervisors = new LinkedHashMap<>();
        for (PoolRepresentation.Template t : r.templates()) {
            HypervisorEntity h = database.session().find(HypervisorEntity.class, t.hypervisorId());
            if (h != null) {
                database.session().detach(h);
                hypervisors.putIfAbsent(h.id, h);
            }
        }
        return new TemplateChecks.Saved(stored, sizeChanged, hypervisors);
    }

    @Transactional
    PoolRepresentation createInTx(PoolRepresentation r, Map<String, GroupDirectory.Group> found,
            Map<String, Object> liveErrors) {
        if (database.session().find(PoolEntity.class, r.id()) != null) {
            throw ProblemException.conflict("pool " + r.id() + " exists");
        }
        PoolEntity e = new PoolEntity();
        e.id = r.id();
        e.createdAt = clock.instant();
        apply(e, r, found, liveErrors);
        database.session().persist(e);
        return toRepresentation(e);
    }

    @Transactional
    PoolRepresentation updateInTx(String id, PoolRepresentation r, Map<String, GroupDirectory.Group> found,
            Map<String, Object> liveErrors) {
        PoolEntity e = find(id);
        apply(e, r, found, liveErrors);
        return toRepresentation(e);
    }

    @Transactional
    void deleteInTx(String id) {
        database.session().remove(find(id));
        // a new pool of the same id starts learning afresh
        database.session().createMutationQuery("delete from LoginCountEntity where poolId = :id")
                .setParameter("id", id).executeUpdate();
    }

    private PoolEntity find(String id) {
        PoolEntity e = database.session().find(PoolEntity.class, id);
        if (e == null) {
            throw ProblemException.notFound("Pool", id);
        }
        return e;
    }

    /**
     * Checks what bean validation cannot (relations between fields, references), then copies; {@code liveErrors} are
     * the live hypervisors' answers about the templates, found before the transaction ({@link #liveChecks}).
     */
    private void apply(PoolEntity e, PoolRepresentation r, Map<String, GroupDirectory.Group> found,
            Map<String, Object> liveErrors) {
        Map<String, Object> errors = new LinkedHashMap<>();
        if (r.minSize() > r.maxSize()) {
            errors.put("minSize", "must not be greater than maxSize");
        }
        PoolEntity.Assignment assignment = PoolEntity.Assignment.valueOf(r.assignment().toUpperCase());
        if (r.timeZone() != null) {
            try {
                ZoneId.of(r.timeZone());
            } catch (DateTimeException ex) {
                errors.put("timeZone", "unknown time zone " + r.timeZone());
            }
        }
        LinkedHashSet<String> hypervisorIds = new LinkedHashSet<>();
        for (PoolRepresentation.Template t : r.templates()) {
            HypervisorEntity h = database.session().find(HypervisorEntity.class, t.hypervisorId());
            if (!hypervisorIds.add(t.hypervisorId())) {
                errors.put("templates", "one template per hypervisor: " + t.hypervisorId() + " appears twice");
            } else if (h == null) {
                errors.put("templates", "unknown hypervisor " + t.hypervisorId());
            }
        }
        if (errors.isEmpty()) {
            // the live hypervisors' answers: the base image exists, the desktop size fits
            errors.putAll(liveErrors);
        }
        SpareSchedule schedule = SpareSchedule.parse(r.schedules(), errors);
        errors.putAll(ConnectionSettingsSchema.get().validate(r.connectionSettings()));
        List<String> groups = r.entitlements().groups() == null ? List.of() : r.entitlements().groups();
        List<String> users = r.entitlements().users() == null ? List.of() : r.entitlements().users();
        if (!errors.isEmpty()) {
            throw new ProblemException(400, "invalid-pool", "Invalid pool", "the pool definition is invalid",
                    errors);
        }
        e.displayName = r.displayName();
        e.assignment = assignment;
        e.minSize = r.minSize();
        e.spare = r.spare();
        e.maxSize = r.maxSize();
        e.protocols = String.join(",", new LinkedHashSet<>(r.protocols()));
        e.desktopVcpus = r.desktop().vcpus();
        e.desktopMemoryMb = r.desktop().memoryMb();
        e.idleTimeoutSeconds = r.idleTimeoutSeconds() == null ? 0 : r.idleTimeoutSeconds();
        e.disconnectTimeoutSeconds = r.disconnectTimeoutSeconds() == null ? 0 : r.disconnectTimeoutSeconds();
        // floating desktops are always refreshed before the next user (invariant 3)
        e.refreshOnLogoff = assignment == PoolEntity.Assignment.FLOATING;
        e.timeZone = r.timeZone() == null ? "UTC" : r.timeZone();
        e.enabled = r.enabled() == null || r.enabled();
        e.prewarm = r.prewarm() != null && r.prewarm();
        e.schedules.clear();
        schedule.windows().forEach(w -> e.schedules.add(SpareWindowEmbeddable.of(w)));
        if (r.unknownVms() != null) {
            e.unknownVms = PoolEntity.UnknownVms.valueOf(r.unknownVms().toUpperCase(Locale.ROOT));
        }
        ConnectionSettings settings = r.connectionSettings() == null ? ConnectionSettings.NONE : r.connectionSettings();
        e.rdpSettings.clear();
        e.rdpSettings.putAll(settings.rdp());
        e.vvSettings.clear();
        e.vvSettings.putAll(settings.vv());
        e.updatedAt = clock.instant();
        mergeTemplates(e, r.templates());
        e.entitlements.clear();
        groups.stream().distinct().forEach(g -> e.entitlements.add(groupEntitlement(g, found.get(g))));
        users.stream().distinct()
                .forEach(u -> e.entitlements.add(new EntitlementEmbeddable(EntitlementEmbeddable.Kind.USER, u)));
    }

    /**
     * Looks up each entitled group in Keycloak before anything is written: an unknown group refuses the whole pool
     * (naming it), and an unreachable Keycloak refuses it with 503 rather than saving groups nobody checked.
     */
    private Map<String, GroupDirectory.Group> resolveGroups(PoolRepresentation r) {
        if (!groups.enabled() || r.entitlements() == null || r.entitlements().groups() == null) {
            return Map.of();
        }
        Map<String, GroupDirectory.Group> found = new LinkedHashMap<>();
        Map<String, Object> errors = new LinkedHashMap<>();
        List<String> paths = r.entitlements().groups();
        for (int i = 0; i < paths.size(); i++) {
            String path = paths.get(i);
            if (path == null || found.containsKey(path)) {
                continue;
            }
            try {
                groups.byPath(path).ifPresentOrElse(g -> found.put(path, g),
                        () -> errors.put("entitlements.groups", "unknown group " + path
                                + ": the identity provider has no group with this path"));
            } catch (IdentityProviderUnavailableException ex) {
                throw new ProblemException(503, "identity-provider-unavailable",
                        "Identity provider (Keycloak) unavailable",
                        "the pool's groups cannot be checked in the identity provider (Keycloak) right now; "
                                + "nothing was saved, try again later");
            }
        }
        if (!errors.isEmpty()) {
            throw new ProblemException(400, "invalid-pool", "Invalid pool", "the pool definition is invalid",
                    errors);
        }
        return found;
    }

    private EntitlementEmbeddable groupEntitlement(String path, GroupDirectory.Group group) {
        EntitlementEmbeddable x = new EntitlementEmbeddable(EntitlementEmbeddable.Kind.GROUP, path);
        if (group != null) {
            x.groupId = group.id();
            x.checkState = EntitlementEmbeddable.GroupState.OK;
            x.checkedAt = clock.instant();
        } else {
            x.checkState = EntitlementEmbeddable.GroupState.UNVERIFIED;
            x.checkDetail = groups.disabledReason().orElse("not checked in the identity provider yet");
        }
        return x;
    }

    /** A changed template reference is a new publication; desktops of older publications are rolled over. */
    private static void mergeTemplates(PoolEntity e, List<PoolRepresentation.Template> wanted) {
        List<PoolTemplateEntity> keep = new ArrayList<>();
        for (PoolRepresentation.Template t : wanted) {
            PoolTemplateEntity existing = e.templates.stream().filter(x -> x.hypervisorId.equals(t.hypervisorId()))
                    .findFirst().orElse(null);
            if (existing == null) {
                existing = new PoolTemplateEntity();
                existing.id = UUID.randomUUID().toString();
                existing.pool = e;
                existing.hypervisorId = t.hypervisorId();
                existing.templateRef = t.templateRef();
                existing.publication = 1;
            } else if (!Objects.equals(existing.templateRef, t.templateRef())) {
                existing.templateRef = t.templateRef();
                existing.publication++;
            }
            keep.add(existing);
        }
        e.templates.retainAll(keep);
        for (PoolTemplateEntity t : keep) {
            if (!e.templates.contains(t)) {
                e.templates.add(t);
            }
        }
    }

    static PoolRepresentation toRepresentation(PoolEntity e) {
        return new PoolRepresentation(e.id, e.displayName, e.assignment.name().toLowerCase(), e.minSize, e.spare,
                e.maxSize, List.of(e.protocols.split(",")),
                new PoolRepresentation.DesktopSize(e.desktopVcpus, e.desktopMemoryMb), e.idleTimeoutSeconds,
                e.disconnectTimeoutSeconds, e.timeZone, e.enabled,
                e.templates.stream().map(t -> new PoolRepresentation.Template(t.hypervisorId, t.templateRef,
                        t.publication)).toList(),
                new PoolRepresentation.Entitlements(
                        e.entitlements.stream().filter(x -> x.kind == EntitlementEmbeddable.Kind.GROUP)
                                .map(x -> x.name).toList(),
                        e.entitlements.stream().filter(x -> x.kind == EntitlementEmbeddable.Kind.USER)
                                .map(x -> x.name).toList()),
                e.schedules.stream().map(SpareWindowEmbeddable::toRepresentation).toList(), e.prewarm,
                e.unknownVms.name().toLowerCase(Locale.ROOT), new ConnectionSettings(e.rdpSettings, e.vvSettings),
                e.entitlements.stream().filter(x -> x.kind == EntitlementEmbeddable.Kind.GROUP)
                        .map(x -> new PoolRepresentation.GroupStatus(x.name,
                                x.checkState == null ? EntitlementEmbeddable.GroupState.UNVERIFIED.name()
                                        : x.checkState.name(),
                                x.checkDetail, x.checkedAt))
                        .toList(),
                e.createdAt, e.updatedAt);
    }
}
