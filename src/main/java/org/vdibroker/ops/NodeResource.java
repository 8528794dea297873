package org.vdibroker.ops;

import io.smallrye.health.SmallRyeHealth;
import io.smallrye.health.SmallRyeHealthReporter;
import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.remoting.transport.Address;
import org.vdibroker.audit.AuditService;
import org.vdibroker.cluster.KeyOwnership;
import org.vdibroker.security.Caller;
import org.vdibroker.security.Roles;

/** The cluster's nodes, and operator actions on this node. */
@Path("/api/v1/admin/nodes")
@RolesAllowed(Roles.ADMIN)
@Produces(MediaType.APPLICATION_JSON)
public class NodeResource {

    /**
     * One member of the cluster as this node sees it: its name, whether it is the node answering, the cluster's
     * coordinator, and whether it announced that it drains.
     */
    public record Member(String name, boolean self, boolean coordinator, boolean draining) {
    }

    @Inject
    NodeState node;

    @Inject
    AuditService audit;

    @Inject
    KeyOwnership ownership;

    @Inject
    Caller caller;

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    SmallRyeHealthReporter health;

    /** Every member of the cluster (one, "local", when the broker runs without a cluster), this node first. */
    @GET
    public List<Member> members() {
        Address self = manager.getAddress();
        List<Address> members = manager.getMembers();
        if (self == null || members == null) {
            return List.of(new Member("local", true, true, node.draining()));
        }
        Address coordinator = manager.getCoordinator();
        return members.stream()
                .map(a -> new Member(a.toString(), a.equals(self), a.equals(coordinator),
                        a.equals(self) ? node.draining() : ownership.isDraining(a)))
                .sorted(Comparator.comparing((Member m) -> !m.self()).thenComparing(Member::name))
                .toList();
    }

    /**
     * This node's readiness report, the same JSON as {@code /q/health/ready} on the management port, which a browser
     * cannot reach: the admin console shows it. Always 200; a node that is not ready says {@code "status": "DOWN"}.
     */
    @GET
    @Path("/self/readiness")
    public Response readiness() {
        SmallRyeHealth report = health.getReadiness();
        return Response.ok(report.getPayload().toString(), MediaType.APPLICATION_JSON).build();
    }

    /**
     * Readiness goes DOWN so the load balancer stops sending new requests; requests in flight complete; the pools
     * this node managed move to the other owners of their keys.
     */
    @POST
    @Path("/self/drain")
    public Map<String, Object> drain() {
        if (node.drain()) {
            ownership.drainSelf(); // other owners take over this node's pools at their next tick
            audit.record("node.drain", caller.user(), null, null, null, null);
        }
        return Map.of("draining", true);
    }
}
