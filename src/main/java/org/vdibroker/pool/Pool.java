package org.vdibroker.pool;

import java.io.Serializable;
import java.time.ZoneId;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.infinispan.protostream.annotations.ProtoField;
import org.infinispan.protostream.annotations.ProtoName;
import org.vdibroker.protocol.ConnectionSettings;

/**
 * A pool as the broker uses it: an immutable snapshot of the admin's definition, with its templates and
 * entitlements; also what the cluster's definitions cache holds.
 */
public record Pool(@ProtoField(number = 1) String id, @ProtoField(number = 2) String displayName,
        @ProtoField(number = 3) PoolEntity.Assignment assignment, @ProtoField(number = 4) int minSize,
        @ProtoField(number = 5) int spare, @ProtoField(number = 6) int maxSize,
        @ProtoField(number = 7) List<String> protocols, @ProtoField(number = 8) int desktopVcpus,
        @ProtoField(number = 9) long desktopMemoryMb, @ProtoField(number = 10) long idleTimeoutSeconds,
        @ProtoField(number = 11) long disconnectTimeoutSeconds, @ProtoField(number = 12) boolean refreshOnLogoff,
        @ProtoField(number = 13) String timeZone, @ProtoField(number = 14) boolean enabled,
        @ProtoField(number = 15) List<Template> templates,
        @ProtoField(number = 16, collectionImplementation = HashSet.class) Set<String> entitledGroups,
        @ProtoField(number = 17, collectionImplementation = HashSet.class) Set<String> entitledUsers,
        @ProtoField(number = 18) SpareSchedule schedule, @ProtoField(number = 19) boolean prewarm,
        @ProtoField(number = 20) PoolEntity.UnknownVms unknownVms,
        @ProtoField(number = 21) ConnectionSettings connectionSettings) implements Serializable {

    /** How desktops are made on one hypervisor. */
    @ProtoName("PoolTemplate")
    public record Template(@ProtoField(number = 1) String hypervisorId, @ProtoField(number = 2) String templateRef,
            @ProtoField(number = 3) int publication) implements Serializable {
    }

    public boolean dedicated() {
        return assignment == PoolEntity.Assignment.DEDICATED;
    }

    /** Entitled by user name, or by membership of an entitled group or one of its subgroups. */
    public boolean entitles(String user, Set<String> groups) {
        if (entitledUsers.contains(user)) {
            return true;
        }
        for (String group : groups) {
            for (String entitled : entitledGroups) {
                if (group.equals(entitled) || group.startsWith(entitled.endsWith("/") ? entitled : entitled + "/")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The time zone schedules and login history are read in. */
    public ZoneId zone() {
        return ZoneId.of(timeZone == null ? "UTC" : timeZone);
    }

    /** Names of the pool's desktops: the pool id, a dash and eight hex digits (see PoolManager.provision). */
    public boolean namesDesktop(String vmName) {
        return vmName != null && vmName.length() == id.length() + 9 && vmName.startsWith(id + "-")
                && vmName.substring(id.length() + 1).chars().allMatch(c -> Character.digit(c, 16) >= 0
                        && !Character.isUpperCase(c));
    }

    /**
     * Whether a desktop made from {@code publication} on {@code hypervisorId} predates the pool's current
     * publication there. A desktop on a hypervisor the pool no longer has a template for is not outdated: no newer
     * publication exists for it.
     */
    public boolean outdated(String hypervisorId, int publication) {
        return publication < publicationOn(hypervisorId);
    }

    /** The current publication of the template on {@code hypervisorId}; 0 when the pool has none there. */
    public int publicationOn(String hypervisorId) {
        return templates.stream().filter(t -> t.hypervisorId().equals(hypervisorId))
                .mapToInt(Template::publication).findFirst().orElse(0);
    }

    public String defaultProtocol() {
        return protocols.get(0);
    }

    static Pool of(PoolEntity e) {
        return new Pool(e.id, e.displayName, e.assignment, e.minSize, e.spare, e.maxSize,
                List.of(e.protocols.split(",")), e.desktopVcpus, e.desktopMemoryMb, e.idleTimeoutSeconds,
                e.disconnectTimeoutSeconds, e.refreshOnLogoff, e.timeZone, e.enabled,
                e.templates.stream().map(t -> new Template(t.hypervisorId, t.templateRef, t.publication)).toList(),
                entitled(e, EntitlementEmbeddable.Kind.GROUP), entitled(e, EntitlementEmbeddable.Kind.USER),
                SpareSchedule.of(e.id, e.schedules), e.prewarm, e.unknownVms,
                new ConnectionSettings(e.rdpSettings, e.vvSettings));
    }

    private static Set<String> entitled(PoolEntity e, EntitlementEmbeddable.Kind kind) {
        return Set.copyOf(e.entitlements.stream().filter(x -> x.kind == kind).map(x -> x.name).toList());
    }
}
