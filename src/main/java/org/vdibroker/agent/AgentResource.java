package org.vdibroker.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.annotation.security.PermitAll;
import jakarta.inject.Inject;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.ConstraintViolationException;
import jakarta.validation.Validator;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Set;
import org.vdibroker.access.AccessIds;
import org.vdibroker.api.ProblemException;

/**
 * Events from desktops. Authenticated with the desktop's own secret (handed to the guest at provisioning and anew at
 * every refresh, which voids the old one), sent as {@code Authorization: Desktop <secret>}; user tokens are not
 * accepted here.
 */
@Path("/api/v1/agent/desktops/{desktopId}/events")
@PermitAll
public class AgentResource {

    @Inject
    AgentEventService events;

    @Inject
    ObjectMapper json;

    @Inject
    Validator validator;

    /** The secret is checked first: a caller without it learns nothing, not even whether its body was valid. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response event(@PathParam("desktopId") String desktopId,
            @HeaderParam("Authorization") String authorization, String rawBody) throws JsonProcessingException {
        AccessIds.uuid("Desktop", desktopId);
        String secret = authorization != null && authorization.startsWith("Desktop ")
                ? authorization.substring("Desktop ".length()).trim() : null;
        events.authenticate(desktopId, secret);
        AgentEvent event = rawBody == null || rawBody.isBlank() ? null : json.readValue(rawBody, AgentEvent.class);
        if (event == null) {
            throw ProblemException.invalid("the body must be an agent event");
        }
        Set<ConstraintViolation<AgentEvent>> violations = validator.validate(event);
        if (!violations.isEmpty()) {
            throw new ConstraintViolationException(violations);
        }
        events.handle(desktopId, secret, event);
        return Response.noContent().build();
    }
}
