package org.vdibroker.console;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;
import org.vdibroker.api.Problem;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.hypervisor.ConsoleAddress;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorHealth;
import org.vdibroker.protocol.TicketService;
import org.vdibroker.protocol.TicketState;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStore;

/**
 * The browser's way to a desktop's VNC console: a WebSocket at {@link ConsolePath#PATH} that carries the RFB bytes
 * to and from the VM's console. It opens only with a fresh one-time VNC ticket (redeemed atomically, so a second use
 * is refused on every node), from an allowed {@code Origin}, for a live session of the ticket's user, within the
 * user's connection limit; it closes when the session ends. Refusals are problem+json answers to the upgrade request.
 */
@ApplicationScoped
public class ConsoleProxy {

    private static final Logger LOG = Logger.getLogger(ConsoleProxy.class);

    @Inject
    Vertx vertx;

    @Inject
    TicketService tickets;

    @Inject
    SessionStore sessions;

    @Inject
    DesktopService desktops;

    @Inject
    HypervisorHealth hypervisors; // guarded drivers: breaker and timeout on every call

    @Inject
    BrokerConfig config;

    /** Open consoles per user, by subject. */
    private final Map<String, AtomicInteger> openPerUser = new ConcurrentHashMap<>();
    private NetClient client;

    void install(@Observes Router router) {
        client = vertx.createNetClient(new NetClientOptions().setConnectTimeout(5000).setTcpNoDelay(true));
        router.route(HttpMethod.GET, ConsolePath.PATH).order(-10).handler(this::handle);
    }

    /** Console connections open on this node for the user with this subject (for tests and metrics). */
    public int openConnections(String subject) {
        AtomicInteger count = openPerUser.get(subject);
        return count == null ? 0 : count.get();
    }

    private void handle(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        if (!"websocket".equalsIgnoreCase(request.getHeader("Upgrade"))) {
            refuse(ctx, 400, "websocket-required", "WebSocket required", "open this address as a WebSocket");
            return;
        }
        if (!originAllowed(request)) {
            refuse(ctx, 403, "origin-refused", "Origin refused",
                    "the console may only be opened from the broker's own pages");
            return;
        }
        String ticket = request.getParam("ticket");
        request.pause();
        vertx.executeBlocking(() -> admit(ticket), false).onComplete(admitted -> {
            if (admitted.failed()) {
                request.resume();
                Refusal r = admitted.cause() instanceof Refusal refusal ? refusal
                        : new Refusal(503, "desktop-unavailable", "Desktop unavailable",
                                "the desktop's console cannot be reached");
                refuse(ctx, r.status, r.type, r.title, r.getMessage());
                return;
            }
            Admission admission = admitted.result();
            Future.fromCompletionStage(admission.driver().consoleAddress(admission.desktop().vmRef(), "vnc"),
                    vertx.getOrCreateContext())
                    .compose((ConsoleAddress address) -> client.connect(address.port(), address.host()))
                    .onComplete(connected -> {
                        if (connected.failed()) {
                            release(admission.ticket().subject());
                            request.resume();
                            LOG.warnf("Console of desktop %s not reachable: %s", admission.desktop().id(),
                                    connected.cause().getMessage());
                            refuse(ctx, 503, "desktop-unavailable", "Desktop unavailable",
                                    "the desktop's console cannot be reached");
                            return;
                        }
                        upgrade(request, admission, connected.result());
                    });
        });
    }

    private void upgrade(HttpServerRequest request, Admission admission, NetSocket vnc) {
        String user = admission.ticket().user();
        String subject = admission.ticket().subject();
        request.toWebSocket().onComplete(upgraded -> {
            if (upgraded.failed()) {
                release(subject);
                vnc.close();
                return;
            }
            ServerWebSocket ws = upgraded.result();
            LOG.infof("Browser console opened: user %s, session %s, desktop %s",
                    org.vdibroker.security.LogSafe.of(user), admission.ticket().sessionId(), admission.desktop().id());
            // RFB bytes both ways; each side's end closes the other
            ws.handler(vnc::write);
            vnc.handler(ws::write);
            long timer = vertx.setPeriodic(config.console().sessionCheckInterval().toMillis(),
                    id -> vertx.executeBlocking(() -> sessionLive(admission.ticket()), false).onSuccess(live -> {
                        if (!live && !ws.isClosed()) {
                            LOG.infof("Session %s ended: closing its browser console", admission.ticket().sessionId());
                            ws.close((short) 1000, "session ended");
                        }
                    }));
            boolean[] released = new boolean[1];
            Runnable closeBoth = () -> {
                if (!released[0]) {
                    released[0] = true;
                    vertx.cancelTimer(timer);
                    release(subject);
                }
                vnc.close();
                if (!ws.isClosed()) {
                    ws.close();
                }
            };
            ws.closeHandler(v -> closeBoth.run());
            ws.exceptionHandler(e -> closeBoth.run());
            vnc.closeHandler(v -> closeBoth.run());
            vnc.exceptionHandler(e -> closeBoth.run());
        });
    }

    /** Redeems the ticket and checks everything that is checked before the upgrade; holds a slot of the user's. */
    private Admission admit(String ticket) throws Refusal {
        TicketState state = tickets.redeem(ticket).orElseThrow(() -> new Refusal(403, "ticket-refused",
                "Ticket refused", "the connection ticket is unknown, expired or already used; ask for a new one"));
        if (!"vnc".equals(state.protocol())) {
            throw new Refusal(403, "ticket-refused", "Ticket refused", "the ticket is not for a VNC console");
        }
        if (!sessionLive(state)) {
            throw new Refusal(403, "ticket-refused", "Ticket refused", "the ticket's session has ended");
        }
        DesktopState desktop = desktops.get(state.desktopId()).filter(d -> d.vmRef() != null)
                .orElseThrow(() -> new Refusal(503, "desktop-unavailable", "Desktop unavailable",
                        "the session's desktop is gone"));
        HypervisorDriver driver = hypervisors.driver(desktop.hypervisorId())
                .orElseThrow(() -> new Refusal(503, "desktop-unavailable", "Desktop unavailable",
                        "the desktop's hypervisor is not connected or does not answer"));
        AtomicInteger count = openPerUser.computeIfAbsent(state.subject(), u -> new AtomicInteger());
        if (count.incrementAndGet() > config.console().maxConnectionsPerUser()) {
            count.decrementAndGet();
            throw new Refusal(429, "too-many-consoles", "Too many consoles",
                    "close one of your open desktop windows first");
        }
        return new Admission(state, desktop, driver);
    }

    /**
     * The ticket's session still exists, belongs to the ticket's user (same subject), has the ticket's desktop and
     * has not ended.
     */
    private boolean sessionLive(TicketState ticket) {
        return sessions.get(ticket.sessionId())
                .filter(s -> s.ownedBy(ticket.subject()) && s.status().hasDesktop()
                        && ticket.desktopId().equals(s.desktopId()))
                .map(SessionState::status).isPresent();
    }

    private void release(String subject) {
        openPerUser.computeIfPresent(subject, (u, count) -> count.decrementAndGet() <= 0 ? null : count);
    }

    /** The broker's own origin (as the browser addressed it) or one configured in broker.console.allowed-origins. */
    private boolean originAllowed(HttpServerRequest request) {
        String origin = request.getHeader("Origin");
        if (origin == null) {
            return false;
        }
        String own = request.scheme() + "://" + request.authority();
        if (origin.equalsIgnoreCase(own)) {
            return true;
        }
        List<String> allowed = config.console().allowedOrigins().orElse(List.of());
        return allowed.stream().anyMatch(origin::equalsIgnoreCase);
    }

    private static void refuse(RoutingContext ctx, int status, String type, String title, String detail) {
        JsonObject body = new JsonObject().put("type", Problem.of(status, type, title, detail).type())
                .put("title", title).put("status", status).put("detail", detail);
        ctx.response().setStatusCode(status).putHeader("Content-Type", Problem.MEDIA_TYPE)
                .putHeader("Cache-Control", "no-store").end(body.encode());
    }

    private record Admission(TicketState ticket, DesktopState desktop, HypervisorDriver driver) {
    }

    /** A refused console request: status, stable problem type, title, detail (the message). */
    static final class Refusal extends Exception {
        final int status;
        final String type;
        final String title;

        Refusal(int status, String type, String title, String detail) {
            super(detail, null, false, false);
            this.status = status;
            this.type = type;
            this.title = title;
        }
    }
}
