package org.vdibroker.ops;

import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.Map;
import org.vdibroker.audit.AuditService;
import org.vdibroker.cluster.KeyOwnership;
import org.vdibroker.security.Caller;
import org.vdibroker.security.Roles;

/** Operator actions on this node. */
@Path("/api/v1/admin/nodes/self")
@RolesAllowed(Roles.ADMIN)
@Produces(MediaType.APPLICATION_JSON)
public class NodeResource {

    @Inject
    NodeState node;

    @Inject
    AuditService audit;

    @Inject
    KeyOwnership ownership;

    @Inject
    Caller caller;

    /**
     * Readiness goes DOWN so the load balancer stops sending new requests; requests in flight complete; the pools
     * this node managed move to the other owners of their keys.
     */
    @POST
    @Path("/drain")
    public Map<String, Object> drain() {
        if (node.drain()) {
            ownership.drainSelf(); // other owners take over this node's pools at their next tick
            audit.record("node.drain", caller.user(), null, null, null, null);
        }
        return Map.of("draining", true);
    }
}
