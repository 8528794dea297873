package org.vdibroker.protocol;

import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.vdibroker.api.ProblemException;
import org.vdibroker.security.Roles;

/**
 * Redeems connection tickets for gateways (RD Gateway token checks, the broker's console proxy). Callers are
 * services with the {@code vdi-gateway} realm role (a client-credentials token), never users: a user who could
 * redeem would learn nothing new but could burn other users' tickets.
 */
@Path("/api/v1/gateway/tickets/redeem")
@RolesAllowed(Roles.GATEWAY)
public class GatewayResource {

    @Inject
    TicketService tickets;

    /** 200 with the ticket's session once; 404 {@code ticket-not-valid} for unknown, used or expired tickets. */
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public RedeemedTicket redeem(@NotNull @Valid TicketRedeemRequest request) {
        TicketState state = tickets.redeem(request.ticket()).orElseThrow(() -> new ProblemException(404,
                "ticket-not-valid", "Ticket not valid", "the ticket is unknown, already used or expired"));
        return new RedeemedTicket(state.sessionId(), state.desktopId(), state.subject(), state.user(),
                state.protocol());
    }
}
