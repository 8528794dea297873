package org.vdibroker.access;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import org.vdibroker.api.ProblemException;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.HypervisorHealth;
import org.vdibroker.hypervisor.HypervisorRegistry;
import org.vdibroker.hypervisor.SupportsConsoleTicket;
import org.vdibroker.hypervisor.SupportsConsoleUrl;
import org.vdibroker.hypervisor.SupportsGuestIp;
import org.vdibroker.pool.Pool;
import org.vdibroker.pool.PoolCatalog;
import org.vdibroker.protocol.Connection;
import org.vdibroker.protocol.TicketService;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;

/**
 * Issues connection details for a session's desktop in the protocol asked for: checks that the pool offers it and
 * the desktop can serve it (a console of that kind; for RDP a guest address), issues a ticket and, for console
 * protocols, sets it as that console's password. Non-blocking: returns a stage. Each refusal has its own problem
 * type, so a client can tell "ask again later" from "ask for something else".
 */
@ApplicationScoped
public class ConnectionService {

    @Inject
    DesktopService desktops;

    @Inject
    HypervisorRegistry hypervisors;

    @Inject
    PoolCatalog pools;

    @Inject
    TicketService tickets;

    @Inject
    HypervisorHealth health;

    /** A connection and the protocols the same desktop can serve right now (the pool's, in its order). */
    public record Issued(Connection connection, List<String> servable) {
    }

    /** Issues a connection in {@code protocol}; null means the session's own protocol. */
    public CompletionStage<Issued> issue(SessionState session, String protocol) {
        String chosen = protocol == null ? session.protocol() : protocol;
        Target target;
        try {
            target = target(session, chosen);
        } catch (ProblemException e) {
            return CompletableFuture.failedFuture(e);
        }
        return servable(target).thenCompose(servable -> {
            if (!servable.contains(chosen)) {
                throw cannotServe(target, chosen);
            }
            TicketService.IssuedTicket ticket = tickets.issue(session.id(), target.desktop.id(), session.subject(),
                    session.user(), chosen);
            CompletionStage<Void> password = CompletableFuture.completedFuture(null);
            if (!"rdp".equals(chosen) && target.driver instanceof SupportsConsoleTicket consoles) {
                password = guarded(target, () -> consoles.setConsolePassword(target.desktop.vmRef(), chosen,
                        ticket.ticket(), ticket.expiresAt()));
            }
            // a console opened through a link of the hypervisor's own (vSphere's vmrc://) carries its own ticket
            CompletionStage<String> link = CompletableFuture.completedFuture(null);
            if (target.driver instanceof SupportsConsoleUrl links && links.consoleUrlProtocols().contains(chosen)) {
                link = password.thenCompose(x -> guarded(target, () -> links.consoleUrl(target.desktop.vmRef(),
                        chosen)));
            }
            return password.thenCompose(x -> guarded(target,
                    () -> target.driver.consoleAddress(target.desktop.vmRef(), chosen)))
                    .thenCombine(link, (address, href) -> new Issued(new Connection(chosen, address.host(),
                            address.port(), ticket.ticket(), ticket.expiresAt(), session.user(),
                            target.desktop.name(), href, address.preconnectionBlob()), servable));
        }).exceptionallyCompose(e -> CompletableFuture.failedFuture(problem(e)));
    }

    /** The protocols the session's desktop can serve now, among those its pool offers. */
    public CompletionStage<List<String>> servable(SessionState session) {
        try {
            return servable(target(session, null)).exceptionallyCompose(
                    e -> CompletableFuture.failedFuture(problem(e)));
        } catch (ProblemException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private record Target(Pool pool, DesktopState desktop, HypervisorDriver driver) {
    }

    /**
     * Every call to the hypervisor, optional abilities included, goes through its breaker and timeout; while the
     * breaker is open (the hypervisor stopped answering) the user is told so at once.
     */
    private <T> CompletionStage<T> guarded(Target t, java.util.function.Supplier<CompletionStage<T>> call) {
        if (health.breakerOpen(t.desktop.hypervisorId())) {
            return CompletableFuture.failedFuture(new ProblemException(503, "hypervisor-unavailable",
                    "Hypervisor unavailable", "the desktop's hypervisor did not answer; try again shortly"));
        }
        return health.guard(t.desktop.hypervisorId(), call);
    }

    /**
     * The session's pool, desktop and driver; refuses an ended session, one without desktop, or a protocol the pool
     * does not offer.
     */
    private Target target(SessionState session, String protocol) {
        if (session.status() == SessionStatus.ENDED) {
            throw new ProblemException(409, "session-ended", "Session ended", "the session ended ("
                    + session.endReason() + "); request a desktop again for a new session");
        }
        if (!session.status().hasDesktop()) {
            throw new ProblemException(409, "no-desktop-yet", "No desktop yet",
                    "the session is " + session.status() + "; poll it until it is READY");
        }
        Pool pool = pools.get(session.poolId()).orElseThrow(() -> unavailable("the session's pool is gone"));
        if (protocol != null && !pool.protocols().contains(protocol)) {
            throw new ProblemException(409, "protocol-not-offered", "Protocol not offered", "pool " + pool.id()
                    + " offers " + String.join(", ", pool.protocols()) + ", not " + protocol);
        }
        DesktopState desktop = desktops.get(session.desktopId()).orElse(null);
        if (desktop == null || desktop.vmRef() == null) {
            throw unavailable("the session's desktop is gone");
        }
        HypervisorDriver driver = hypervisors.driver(desktop.hypervisorId()).orElseThrow(
                () -> new ProblemException(503, "hypervisor-unavailable", "Hypervisor unavailable",
                        "the desktop's hypervisor is not connected"));
        return new Target(pool, desktop, driver);
    }

    /** The pool's protocols that this desktop can serve: consoles it has, RDP only with a guest address. */
    private CompletionStage<List<String>> servable(Target t) {
        CompletionStage<Boolean> rdp = CompletableFuture.completedFuture(true);
        if (t.pool.protocols().contains("rdp") && t.driver instanceof SupportsGuestIp ips) {
            rdp = guarded(t, () -> ips.guestIp(t.desktop.vmRef())).thenApply(Optional::isPresent);
        }
        return rdp.thenApply(hasAddress -> {
            List<String> servable = new ArrayList<>();
            for (String p : t.pool.protocols()) {
                boolean ok = "rdp".equals(p) ? hasAddress
                        : t.driver instanceof SupportsConsoleUrl u && u.consoleUrlProtocols().contains(p) ? true
                        : "vmrc".equals(p) ? false
                        : !(t.driver instanceof SupportsConsoleTicket c) || c.consoleProtocols().contains(p);
                if (ok) {
                    servable.add(p);
                }
            }
            return List.copyOf(servable);
        });
    }

    private static ProblemException cannotServe(Target t, String protocol) {
        if ("rdp".equals(protocol)) {
            return new ProblemException(409, "no-guest-address", "No address for this protocol",
                    "desktop " + t.desktop.name() + " reports no network address (no network card, or its guest"
                            + " has not got one yet), so RDP cannot reach it");
        }
        return new ProblemException(409, "console-not-available", "Console not available",
                "desktop " + t.desktop.name() + " has no " + protocol + " console (its hypervisor "
                        + t.desktop.hypervisorId() + " gives desktops other consoles)");
    }

    /** A failure as the caller should see it: problems stay, silence and refusals of the hypervisor differ. */
    private static ProblemException problem(Throwable e) {
        Throwable cause = e;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof ProblemException p) {
            return p;
        }
        if (cause instanceof HypervisorException h && !h.unreachable()) {
            return unavailable("the hypervisor could not open the desktop's console: " + h.getMessage());
        }
        return new ProblemException(503, "hypervisor-unavailable", "Hypervisor unavailable",
                "the desktop's hypervisor did not answer; try again shortly");
    }

    private static ProblemException unavailable(String detail) {
        return new ProblemException(503, "desktop-unavailable", "Desktop unavailable", detail);
    }
}
