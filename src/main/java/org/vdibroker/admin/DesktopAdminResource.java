package org.vdibroker.admin;

import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.vdibroker.access.AccessIds;
import org.vdibroker.api.ProblemException;
import org.vdibroker.desktop.DesktopRecycler;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.security.Caller;
import org.vdibroker.security.Roles;

/** Admin actions on single desktops. */
@Path("/api/v1/admin/desktops")
@RolesAllowed(Roles.ADMIN)
@Produces(MediaType.APPLICATION_JSON)
public class DesktopAdminResource {

    @Inject
    DesktopService desktops;

    @Inject
    DesktopRecycler recycler;

    @Inject
    Caller caller;

    @GET
    @Path("/{id}")
    public DesktopRepresentation get(@PathParam("id") String id) {
        return DesktopRepresentation.of(desktops.get(AccessIds.uuid("Desktop", id))
                .orElseThrow(() -> ProblemException.notFound("Desktop", id)));
    }

    /** Refreshes an unused desktop, or replaces a failed one; a desktop in use is refused with 409. */
    @POST
    @Path("/{id}/recycle")
    public DesktopRepresentation recycle(@PathParam("id") String id) {
        return DesktopRepresentation.of(recycler.recycle(AccessIds.uuid("Desktop", id), caller.user()));
    }
}
