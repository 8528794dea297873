package org.vdibroker.agent;

import jakarta.annotation.security.PermitAll;
import jakarta.inject.Inject;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.vdibroker.access.AccessIds;

/**
 * Events from desktops. Authenticated with the desktop's own secret (handed to the guest at provisioning), sent as
 * {@code Authorization: Desktop <secret>}; user tokens are not accepted here.
 */
@Path("/api/v1/agent/desktops/{desktopId}/events")
@PermitAll
public class AgentResource {

    @Inject
    AgentEventService events;

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response event(@PathParam("desktopId") String desktopId,
            @HeaderParam("Authorization") String authorization, @NotNull @Valid AgentEvent event) {
        AccessIds.uuid("Desktop", desktopId);
        String secret = authorization != null && authorization.startsWith("Desktop ")
                ? authorization.substring("Desktop ".length()).trim() : null;
        events.handle(desktopId, secret, event);
        return Response.noContent().build();
    }
}
