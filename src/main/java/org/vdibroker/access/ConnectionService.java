package org.vdibroker.access;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.vdibroker.api.ProblemException;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorRegistry;
import org.vdibroker.hypervisor.SupportsConsoleTicket;
import org.vdibroker.protocol.Connection;
import org.vdibroker.protocol.TicketService;
import org.vdibroker.session.SessionState;

/**
 * Issues connection details for a session's desktop: asks the hypervisor where the console is, issues a ticket and,
 * for console protocols, sets it as the console's one-time password. Non-blocking: returns a stage.
 */
@ApplicationScoped
public class ConnectionService {

    @Inject
    DesktopService desktops;

    @Inject
    HypervisorRegistry hypervisors;

    @Inject
    TicketService tickets;

    public CompletionStage<Connection> issue(SessionState session, String protocol) {
        if (!session.status().hasDesktop()) {
            return CompletableFuture.failedFuture(new ProblemException(409, "no-desktop-yet", "No desktop yet",
                    "the session is " + session.status() + "; poll it until it is READY"));
        }
        DesktopState desktop = desktops.get(session.desktopId()).orElse(null);
        if (desktop == null || desktop.vmRef() == null) {
            return unavailable("the session's desktop is gone");
        }
        HypervisorDriver driver = hypervisors.driver(desktop.hypervisorId()).orElse(null);
        if (driver == null) {
            return unavailable("the desktop's hypervisor is not connected");
        }
        TicketService.IssuedTicket ticket = tickets.issue(session.id(), desktop.id(), session.user(), protocol);
        CompletionStage<Void> password = CompletableFuture.completedFuture(null);
        if (!"rdp".equals(protocol) && driver instanceof SupportsConsoleTicket consoles) {
            password = consoles.setConsolePassword(desktop.vmRef(), ticket.ticket(), ticket.expiresAt());
        }
        return password.thenCompose(x -> driver.consoleAddress(desktop.vmRef(), protocol))
                .thenApply(address -> new Connection(protocol, address.host(), address.port(), ticket.ticket(),
                        ticket.expiresAt(), session.user(), desktop.name(), address.preconnectionBlob()))
                .exceptionallyCompose(e -> unavailable("the hypervisor did not answer"));
    }

    private static <T> CompletionStage<T> unavailable(String detail) {
        return CompletableFuture.failedFuture(
                new ProblemException(503, "desktop-unavailable", "Desktop unavailable", detail));
    }
}
