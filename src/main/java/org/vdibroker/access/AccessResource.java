package org.vdibroker.access;

import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.jboss.resteasy.reactive.RestStreamElementType;
import org.vdibroker.BrokerConfig;
import org.vdibroker.api.ProblemException;
import org.vdibroker.pool.Pool;
import org.vdibroker.pool.PoolCatalog;
import org.vdibroker.protocol.Connection;
import org.vdibroker.protocol.ConnectionFileService;
import org.vdibroker.protocol.ConnectionFiles;
import org.vdibroker.protocol.ConnectionSettings;
import org.vdibroker.security.Caller;
import org.vdibroker.security.Roles;
import org.vdibroker.session.SessionService;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;
import org.vdibroker.session.SessionStore;

/** The end-user API: entitled pools, desktop requests, sessions, connection details and files, logoff. */
@Path("/api/v1/me")
@RolesAllowed(Roles.USER)
@Produces(MediaType.APPLICATION_JSON)
@Blocking
public class AccessResource {

    @Inject
    Caller caller;

    @Inject
    DesktopRequestService requests;

    @Inject
    SessionStore sessions;

    @Inject
    SessionService sessionService;

    @Inject
    ConnectionService connections;

    @Inject
    ConnectionFileService files;

    @Inject
    PoolCatalog pools;

    @Inject
    BrokerConfig config;

    @Inject
    org.vdibroker.pool.ProvisionProblems provisionProblems;

    @Inject
    UserLimits limits;

    @Inject
    com.fasterxml.jackson.databind.ObjectMapper json;

    Clock clock = Clock.systemUTC();

    @GET
    @Path("/pools")
    public List<PoolAvailability> pools() {
        return requests.entitledPools(caller).stream().map(this::availability).toList();
    }

    /** The body is optional (a thin client may send none), so it is read here rather than by content type. */
    @POST
    @Path("/pools/{poolId}/desktop")
    public CompletionStage<Response> requestDesktop(@PathParam("poolId") String poolId,
            @HeaderParam("Idempotency-Key") String idempotencyKey, String rawBody, @Context UriInfo uri)
            throws com.fasterxml.jackson.core.JsonProcessingException {
        DesktopRequest body = rawBody == null || rawBody.isBlank() ? null
                : json.readValue(rawBody, DesktopRequest.class);
        if (body != null && body.protocol() != null && !body.protocol().matches("rdp|spice|vnc|vmrc")) {
            throw ProblemException.invalid("protocol must be one of rdp, spice, vnc, vmrc");
        }
        AccessIds.name("Pool", poolId);
        limits.desktopRequest(caller.subject());
        if (idempotencyKey != null && (idempotencyKey.isBlank() || idempotencyKey.length() > 200)) {
            throw ProblemException.invalid("Idempotency-Key must be 1-200 characters");
        }
        SessionState session = requests.request(caller, poolId, body == null ? null : body.protocol(),
                idempotencyKey);
        URI location = uri.getBaseUriBuilder().path("api/v1/me/sessions/{id}").build(session.id());
        if (session.status().hasDesktop()) {
            // a live session answers in the protocol asked for now, not the one it was opened with
            String protocol = body == null || body.protocol() == null ? session.protocol() : body.protocol();
            return withConnection(session, protocol, uri)
                    .thenApply(s -> Response.ok(s).location(location).build());
        }
        return java.util.concurrent.CompletableFuture.completedFuture(
                Response.accepted(view(session, null)).location(location).build());
    }

    @GET
    @Path("/sessions")
    public List<SessionRepresentation> mySessions() {
        return sessions.ofSubject(caller.subject()).stream().filter(s -> s.status().live()).map(s -> view(s, null))
                .toList();
    }

    @GET
    @Path("/sessions/{sessionId}")
    public SessionRepresentation session(@PathParam("sessionId") String sessionId) {
        return view(mine(sessionId), null);
    }

    /**
     * The session as server-sent events: one event now and one whenever state, position or ETA changes, until the
     * session has a desktop or ends (at most 10 minutes; clients reconnect after that).
     */
    @GET
    @Path("/sessions/{sessionId}/events")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @RestStreamElementType(MediaType.APPLICATION_JSON)
    public Multi<SessionRepresentation> events(@PathParam("sessionId") String sessionId) {
        String id = mine(sessionId).id();
        String subject = caller.subject();
        limits.streamOpened(subject);
        boolean[] finished = new boolean[1];
        return Multi.createFrom().ticks().startingAfter(Duration.ofMillis(1)).every(Duration.ofSeconds(1))
                .onOverflow().drop()
                .emitOn(Infrastructure.getDefaultWorkerPool())
                .map(tick -> sessions.get(id).map(sessions::touch).map(s -> view(s, null)).orElse(null))
                .select().where(java.util.Objects::nonNull)
                // inclusive "until": the first terminal state is emitted, the tick after it ends the stream
                .select().first(v -> {
                    if (finished[0]) {
                        return false;
                    }
                    finished[0] = !"QUEUED".equals(v.state()) && !"PROVISIONING".equals(v.state());
                    return true;
                })
                .skip().repetitions()
                .select().first(Duration.ofMinutes(10))
                .onTermination().invoke(() -> limits.streamClosed(subject));
    }

    /**
     * A fresh ticket for the session's desktop. The optional body {@code {"protocol": "vnc"}} picks the protocol
     * among those the pool offers and the desktop can serve; without it, the session's protocol.
     */
    @POST
    @Path("/sessions/{sessionId}/connection")
    public CompletionStage<ConnectionRepresentation> connection(@PathParam("sessionId") String sessionId,
            String rawBody, @Context UriInfo uri) throws com.fasterxml.jackson.core.JsonProcessingException {
        DesktopRequest body = rawBody == null || rawBody.isBlank() ? null
                : json.readValue(rawBody, DesktopRequest.class);
        String protocol = protocol(body == null ? null : body.protocol());
        SessionState session = mine(sessionId);
        requests.checkStillEntitled(caller, session.poolId());
        limits.ticket(caller.subject());
        return connections.issue(session, protocol).thenApply(c -> representation(c, session, uri));
    }

    /** An .rdp file; only for a pool that offers RDP and a desktop with a guest address. */
    @GET
    @Path("/sessions/{sessionId}/connection.rdp")
    @Produces({ ConnectionFiles.RDP_MEDIA_TYPE, MediaType.APPLICATION_JSON })
    public CompletionStage<Response> rdpFile(@PathParam("sessionId") String sessionId) {
        SessionState session = mine(sessionId);
        requests.checkStillEntitled(caller, session.poolId());
        limits.ticket(caller.subject());
        return connections.issue(session, "rdp").thenApply(i -> i.connection()).thenApply(c -> file(
                files.rdp(c, settingsOf(session)), ConnectionFiles.RDP_MEDIA_TYPE, c.title() + ".rdp"));
    }

    /**
     * A virt-viewer file for SPICE or VNC ({@code ?protocol=}); without it, the session's protocol when it is a
     * console, else the first console protocol the pool offers.
     */
    @GET
    @Path("/sessions/{sessionId}/connection.vv")
    @Produces({ ConnectionFiles.VV_MEDIA_TYPE, MediaType.APPLICATION_JSON })
    public CompletionStage<Response> vvFile(@PathParam("sessionId") String sessionId,
            @QueryParam("protocol") String requested) {
        String asked = protocol(requested);
        if ("rdp".equals(asked)) {
            throw ProblemException.invalid("a .vv file is for spice or vnc; use connection.rdp for rdp");
        }
        SessionState session = mine(sessionId);
        requests.checkStillEntitled(caller, session.poolId());
        limits.ticket(caller.subject());
        String protocol = asked != null ? asked : consoleProtocol(session);
        return connections.issue(session, protocol).thenApply(i -> i.connection()).thenApply(c -> file(
                files.vv(c, settingsOf(session)), ConnectionFiles.VV_MEDIA_TYPE, c.title() + ".vv"));
    }

    /** A VMware Remote Console link (vmrc://clone:ticket@host/?moid=vm) for a desktop on vSphere. */
    @GET
    @Path("/sessions/{sessionId}/connection.vmrc")
    @Produces({ "text/uri-list", MediaType.APPLICATION_JSON })
    public CompletionStage<Response> vmrcLink(@PathParam("sessionId") String sessionId) {
        SessionState session = mine(sessionId);
        requests.checkStillEntitled(caller, session.poolId());
        limits.ticket(caller.subject());
        return connections.issue(session, "vmrc").thenApply(i -> i.connection())
                .thenApply(c -> Response.ok(c.url() + "\r\n", "text/uri-list")
                .header("Cache-Control", "no-store").build());
    }

    @POST
    @Path("/sessions/{sessionId}/logoff")
    public SessionRepresentation logoff(@PathParam("sessionId") String sessionId) {
        SessionState session = mine(sessionId);
        return view(sessionService.end(session.id(), "logoff", caller.user()).orElse(session), null);
    }

    /** The file settings of the session's pool; the defaults when the pool is gone. */
    private ConnectionSettings settingsOf(SessionState session) {
        return pools.get(session.poolId()).map(Pool::connectionSettings).orElse(ConnectionSettings.NONE);
    }

    /**
     * The caller's session (by subject: another identity with the same name is another user); another user's is
     * reported exactly like a missing one.
     */
    private SessionState mine(String sessionId) {
        AccessIds.uuid("Session", sessionId);
        SessionState session = sessions.get(sessionId).filter(s -> s.ownedBy(caller.subject()))
                .or(() -> sessions.bindToSubject(sessionId, caller.subject(), caller.user()))
                .orElseThrow(() -> ProblemException.notFound("Session", sessionId));
        return sessions.touch(session);
    }

    /** A protocol as asked for: null, or one of rdp, spice, vnc. */
    private static String protocol(String asked) {
        if (asked != null && !asked.matches("rdp|spice|vnc")) {
            throw ProblemException.invalid("protocol must be one of rdp, spice, vnc");
        }
        return asked;
    }

    /** The console protocol a .vv file defaults to: the session's, else the pool's first console protocol. */
    private String consoleProtocol(SessionState session) {
        if (!"rdp".equals(session.protocol())) {
            return session.protocol();
        }
        return pools.get(session.poolId()).flatMap(p -> p.protocols().stream().filter(x -> !"rdp".equals(x))
                .findFirst()).orElseThrow(() -> new ProblemException(409, "protocol-not-offered",
                        "Protocol not offered",
                        "pool " + session.poolId() + " offers no console protocol (spice, vnc)"));
    }

    private CompletionStage<SessionRepresentation> withConnection(SessionState session, String protocol,
            UriInfo uri) {
        return connections.issue(session, protocol).thenApply(c -> view(session, representation(c, session, uri)));
    }

    private SessionRepresentation view(SessionState s, ConnectionRepresentation connection) {
        int position = requests.queuePosition(s);
        // a queued user whose pool cannot provision is told why, instead of an estimate that will not hold
        String waitingFor = position == 0 ? null : provisionProblems.of(s.poolId())
                .map(p -> "the pool cannot provision desktops now (" + p.kind() + "): " + p.detail()).orElse(null);
        return new SessionRepresentation(s.id(), s.poolId(), s.user(), s.desktopId(),
                requests.visibleState(s, position), position == 0 ? null : position,
                position == 0 || waitingFor != null ? null : requests.etaSeconds(s, position), s.createdAt(),
                connection, s.status() == SessionStatus.ENDED ? s.endReason() : null, waitingFor);
    }

    /** The connection, and links to files for only the protocols this desktop can serve now. */
    private static ConnectionRepresentation representation(ConnectionService.Issued issued, SessionState s,
            UriInfo uri) {
        Connection c = issued.connection();
        String base = uri.getBaseUriBuilder().path("api/v1/me/sessions/{id}").build(s.id()).toString();
        Map<String, String> files = new java.util.LinkedHashMap<>();
        if (issued.servable().contains("rdp")) {
            files.put("rdp", base + "/connection.rdp");
        }
        String console = issued.servable().contains(c.protocol()) && !"rdp".equals(c.protocol()) ? c.protocol()
                : issued.servable().stream().filter(p -> !"rdp".equals(p)).findFirst().orElse(null);
        if (console != null) {
            files.put("vv", base + "/connection.vv?protocol=" + console);
        }
        if (issued.servable().contains("vmrc")) {
            files.put("vmrc", base + "/connection.vmrc");
        }
        return new ConnectionRepresentation(c.protocol(), c.host(), c.port(), c.ticket(), c.expiresAt(), files,
                c.url());
    }

    private PoolAvailability availability(Pool p) {
        return new PoolAvailability(p.id(), p.id(), p.displayName(), p.assignment().name().toLowerCase(),
                p.protocols(), requests.desktopsReady(p), requests.queueLength(p), requests.estimatedWait(p));
    }

    private static Response file(String content, String mediaType, String fileName) {
        String safe = fileName.replaceAll("[^A-Za-z0-9._-]", "_");
        return Response.ok(content, mediaType).header("Content-Disposition", "attachment; filename=\"" + safe + "\"")
                .header("Cache-Control", "no-store").build();
    }
}
