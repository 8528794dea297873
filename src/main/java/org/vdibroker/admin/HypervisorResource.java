package org.vdibroker.admin;

import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.util.List;
import org.vdibroker.access.AccessIds;
import org.vdibroker.hypervisor.HypervisorRepresentation;
import org.vdibroker.hypervisor.HypervisorService;
import org.vdibroker.security.Caller;
import org.vdibroker.security.Roles;

/** Admin API for hypervisor connections. Credentials are write-only. */
@Path("/api/v1/admin/hypervisors")
@RolesAllowed(Roles.ADMIN)
@Produces(MediaType.APPLICATION_JSON)
public class HypervisorResource {

    @Inject
    HypervisorService hypervisors;

    @Inject
    Caller caller;

    @GET
    public List<HypervisorRepresentation> list() {
        return hypervisors.list();
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(@NotNull @Valid HypervisorRepresentation body) {
        HypervisorRepresentation created = hypervisors.create(body, caller.user());
        return Response.created(URI.create("/api/v1/admin/hypervisors/" + created.id())).entity(created).build();
    }

    @GET
    @Path("/{id}")
    public HypervisorRepresentation get(@PathParam("id") String id) {
        return hypervisors.get(AccessIds.name("Hypervisor", id));
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public HypervisorRepresentation update(@PathParam("id") String id, @NotNull @Valid HypervisorRepresentation body) {
        return hypervisors.update(AccessIds.name("Hypervisor", id), body, caller.user());
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        hypervisors.delete(AccessIds.name("Hypervisor", id), caller.user());
        return Response.noContent().build();
    }

    /** Drains a hypervisor (no new desktops there; running ones are left alone); {@code ?enabled=false} ends it. */
    @POST
    @Path("/{id}/maintenance")
    public HypervisorRepresentation maintenance(@PathParam("id") String id,
            @QueryParam("enabled") Boolean enabled) {
        return hypervisors.maintenance(AccessIds.name("Hypervisor", id), enabled == null || enabled, caller.user());
    }
}
