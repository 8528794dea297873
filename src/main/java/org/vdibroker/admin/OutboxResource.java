package org.vdibroker.admin;

import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.List;
import org.vdibroker.api.ProblemException;
import org.vdibroker.audit.AuditService;
import org.vdibroker.persistence.Outbox;
import org.vdibroker.persistence.OutboxEntryRepresentation;
import org.vdibroker.security.Caller;
import org.vdibroker.security.Roles;

/**
 * Database writes waiting in the cluster's outbox, for an admin: what waits, which entries the database refuses
 * (attempts, last error, parked), and discarding an entry that will never be written.
 */
@Path("/api/v1/admin/outbox")
@RolesAllowed(Roles.ADMIN)
@Produces(MediaType.APPLICATION_JSON)
public class OutboxResource {

    @Inject
    Outbox outbox;

    @Inject
    AuditService audit;

    @Inject
    Caller caller;

    /** Waiting entries, refused ones first (parked before the others). */
    @GET
    public List<OutboxEntryRepresentation> list(@QueryParam("limit") @DefaultValue("100") int limit) {
        if (limit < 1 || limit > 1000) {
            throw ProblemException.invalid("limit must be between 1 and 1000");
        }
        return outbox.list(limit);
    }

    /** Drops one entry without writing it; the discard itself is audited. */
    @POST
    @Path("/{id}/discard")
    public Response discard(@PathParam("id") String id) {
        if (id.length() > 300) {
            throw ProblemException.invalid("an outbox id is at most 300 characters");
        }
        if (!outbox.discard(id)) {
            throw ProblemException.notFound("Outbox entry", id);
        }
        audit.record("outbox.discarded", caller.user(), null, null, null, id);
        return Response.noContent().build();
    }
}
