package org.vdibroker.console;

import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.time.Instant;
import java.util.concurrent.CompletionStage;
import org.vdibroker.access.AccessIds;
import org.vdibroker.access.ConnectionService;
import org.vdibroker.api.ProblemException;
import org.vdibroker.security.Caller;
import org.vdibroker.security.Roles;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStore;

/**
 * A fresh one-time VNC ticket for opening the caller's desktop in the browser. The page hands it to noVNC, which
 * opens {@link ConsoleProxy#PATH} with it; the ticket is also the console's one-time password where the hypervisor
 * sets one.
 */
// blocking: it reads and writes the session and ticket caches (remote in a cluster) and calls the hypervisor,
// whose calls start on the caller's thread
@io.smallrye.common.annotation.Blocking
@Path("/api/v1/console/sessions/{sessionId}/ticket")
@RolesAllowed(Roles.USER)
@Produces(MediaType.APPLICATION_JSON)
public class ConsoleTicketResource {

    @Inject
    Caller caller;

    @Inject
    SessionStore sessions;

    @Inject
    ConnectionService connections;

    /** What the page needs to open the console WebSocket. */
    public record ConsoleTicket(String ticket, Instant expiresAt, String path) {
    }

    @POST
    public CompletionStage<ConsoleTicket> issue(@PathParam("sessionId") String sessionId) {
        AccessIds.uuid("Session", sessionId);
        SessionState session = sessions.get(sessionId).filter(s -> s.ownedBy(caller.subject()))
                .or(() -> sessions.bindToSubject(sessionId, caller.subject(), caller.user()))
                .orElseThrow(() -> ProblemException.notFound("Session", sessionId));
        return connections.issue(session, "vnc")
                .thenApply(i -> new ConsoleTicket(i.connection().ticket(), i.connection().expiresAt(),
                        ConsolePath.PATH));
    }
}
