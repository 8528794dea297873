package org.vdibroker.admin;

import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.util.List;
import java.util.Locale;
import org.vdibroker.access.AccessIds;
import org.vdibroker.api.ProblemException;
import org.vdibroker.security.Caller;
import org.vdibroker.security.Roles;
import org.vdibroker.session.SessionService;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;
import org.vdibroker.session.SessionStore;

/** Admin view of live sessions, and forced logoff. */
@Path("/api/v1/admin/sessions")
@RolesAllowed(Roles.ADMIN)
@Produces(MediaType.APPLICATION_JSON)
public class SessionAdminResource {

    @Inject
    SessionStore sessions;

    @Inject
    SessionService sessionService;

    @Inject
    Caller caller;

    /**
     * A session for admins: {@code user} is the name shown, {@code subject} whose session it is (the token's
     * {@code sub}; two identities with one name have different subjects).
     */
    public record AdminSessionRepresentation(String id, String poolId, String user, String subject, String state,
            String desktopId, String protocol, java.time.Instant createdAt, String endReason) {
        static AdminSessionRepresentation of(SessionState s) {
            return new AdminSessionRepresentation(s.id(), s.poolId(), s.user(), s.subject(), s.status().name(),
                    s.desktopId(), s.protocol(), s.createdAt(), s.endReason());
        }
    }

    @GET
    public List<AdminSessionRepresentation> list(@QueryParam("pool") String pool, @QueryParam("user") String user,
            @QueryParam("state") String state) {
        SessionStatus wanted = null;
        if (state != null) {
            try {
                wanted = SessionStatus.valueOf(state.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw ProblemException.invalid("state must be one of QUEUED, PROVISIONING, READY, CONNECTED, "
                        + "DISCONNECTED, ENDED");
            }
        }
        SessionStatus filter = wanted;
        // by the state index: the ended sessions (kept a while) and those in other states are not read
        return sessions.inStates(filter != null ? List.of(filter)
                : java.util.Arrays.stream(SessionStatus.values()).filter(SessionStatus::live).toList()).stream()
                .filter(s -> filter == null ? s.status().live() : s.status() == filter) // the index is a moment behind
                .filter(s -> pool == null || s.poolId().equals(pool))
                .filter(s -> user == null || user.equals(s.user())) // a claim fence has no user
                .sorted(java.util.Comparator.comparing(SessionState::createdAt))
                .map(AdminSessionRepresentation::of).toList();
    }

    @POST
    @Path("/{id}/logoff")
    public AdminSessionRepresentation logoff(@PathParam("id") String id) {
        AccessIds.uuid("Session", id);
        if (sessions.get(id).isEmpty()) {
            throw ProblemException.notFound("Session", id);
        }
        return AdminSessionRepresentation.of(sessionService.end(id, "forced logoff", caller.user()).orElseThrow());
    }
}
