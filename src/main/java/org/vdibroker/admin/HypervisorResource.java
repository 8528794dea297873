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
import org.vdibroker.pool.Evacuations;
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

    @Inject
    Evacuations evacuations;

    @GET
    public List<HypervisorRepresentation> list() {
        return hypervisors.list().stream().map(this::withProgress).toList();
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
        return withProgress(hypervisors.get(AccessIds.name("Hypervisor", id)));
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public HypervisorRepresentation update(@PathParam("id") String id, @NotNull @Valid HypervisorRepresentation body) {
        return withProgress(hypervisors.update(AccessIds.name("Hypervisor", id), body, caller.user()));
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        String name = AccessIds.name("Hypervisor", id);
        hypervisors.get(name); // 404 first
        evacuations.forgetTemplatesIfEvacuated(name);
        hypervisors.delete(name, caller.user());
        return Response.noContent().build();
    }

    /** Drains a hypervisor (no new desktops there; running ones are left alone); {@code ?enabled=false} ends it. */
    @POST
    @Path("/{id}/maintenance")
    public HypervisorRepresentation maintenance(@PathParam("id") String id,
            @QueryParam("enabled") Boolean enabled) {
        return withProgress(
                hypervisors.maintenance(AccessIds.name("Hypervisor", id), enabled == null || enabled, caller.user()));
    }

    /**
     * Empties a hypervisor: no new desktops there, its desktops are replaced on the pools' other hypervisors (see
     * {@link Evacuations}); progress is in the hypervisor's {@code evacuation}. Repeating it changes nothing.
     */
    @POST
    @Path("/{id}/evacuate")
    public HypervisorRepresentation evacuate(@PathParam("id") String id) {
        String name = AccessIds.name("Hypervisor", id);
        evacuations.start(name, caller.user());
        return withProgress(hypervisors.get(name));
    }

    /** Undoes an evacuation: the hypervisor takes new desktops again; desktops already moved stay where they are. */
    @DELETE
    @Path("/{id}/evacuate")
    public HypervisorRepresentation cancelEvacuation(@PathParam("id") String id) {
        String name = AccessIds.name("Hypervisor", id);
        hypervisors.get(name); // 404 first
        evacuations.cancel(name, caller.user());
        return hypervisors.get(name);
    }

    private HypervisorRepresentation withProgress(HypervisorRepresentation h) {
        return evacuations.progress(h.id()).map(h::withEvacuation).orElse(h);
    }
}
