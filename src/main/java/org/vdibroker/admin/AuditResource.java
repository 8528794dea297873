package org.vdibroker.admin;

import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.util.List;
import org.vdibroker.api.ProblemException;
import org.vdibroker.audit.AuditEvent;
import org.vdibroker.audit.AuditService;
import org.vdibroker.security.Roles;

/** Audit events, newest first, paged. */
@Path("/api/v1/admin/audit")
@RolesAllowed(Roles.ADMIN)
@Produces(MediaType.APPLICATION_JSON)
public class AuditResource {

    @Inject
    AuditService audit;

    @GET
    public List<AuditEvent> list(@QueryParam("page") @DefaultValue("0") int page,
            @QueryParam("size") @DefaultValue("50") int size) {
        if (page < 0 || size < 1 || size > 500) {
            throw ProblemException.invalid("page must be >= 0 and size between 1 and 500");
        }
        return audit.page(page, size);
    }
}
