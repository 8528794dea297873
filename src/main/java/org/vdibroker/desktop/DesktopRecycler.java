package org.vdibroker.desktop;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;
import org.vdibroker.api.ProblemException;
import org.vdibroker.audit.AuditService;

/** An admin's "recycle": refresh an unused desktop, or send a broken one to retirement so it is replaced. */
@ApplicationScoped
public class DesktopRecycler {

    @Inject
    DesktopService desktops;

    @Inject
    DesktopTransitions transitions;

    @Inject
    AuditService audit;

    public DesktopState recycle(String desktopId, String actor) {
        for (int attempt = 0; attempt < 10; attempt++) {
            DesktopState d = desktops.get(desktopId).orElseThrow(() -> ProblemException.notFound("Desktop",
                    desktopId));
            if (d.sessionId() != null) {
                throw new ProblemException(409, "desktop-in-use", "Desktop in use",
                        "desktop " + desktopId + " is held by a session; log the session off first");
            }
            Optional<DesktopState> next = switch (d.status()) {
                case READY, ASSIGNED -> transitions.recycled(d);
                case LOST -> transitions.failed(d);
                case FAILED, RETIRING, REFRESHING, PROVISIONING, STARTING -> Optional.of(d); // already on its way
                default -> Optional.empty();
            };
            if (next.isPresent()) {
                audit.record("desktop.recycled", actor, d.poolId(), d.id(), null, d.status().name());
                return next.get();
            }
        }
        throw ProblemException.conflict("desktop " + desktopId + " keeps changing; try again");
    }
}
