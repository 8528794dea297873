package org.vdibroker.agent;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.vdibroker.api.ProblemException;
import org.vdibroker.desktop.DesktopInventory;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.desktop.DesktopStatus;
import org.vdibroker.desktop.DesktopTransitions;
import org.vdibroker.security.AgentSecrets;
import org.vdibroker.session.SessionService;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStore;

/** Applies agent events to sessions and desktops, after checking the desktop's secret. */
@ApplicationScoped
public class AgentEventService {

    @Inject
    DesktopService desktops;
    @Inject
    DesktopTransitions transitions;
    @Inject
    DesktopInventory inventory;
    @Inject
    SessionStore sessions;
    @Inject
    SessionService sessionService;
    @Inject
    AgentCheckIns checkIns;

    /**
     * Secret hashes already read from the inventory, so heartbeats do not hit the database. Each is valid only for the
     * desktop's state version it was read at: a refresh stores a new hash before it moves the desktop on, so once any
     * node sees the new state no node can match the old secret against a stale entry.
     */
    private final Map<String, CachedHash> secretHashes = new ConcurrentHashMap<>();
    /**
     * Beyond this many desktops the memo is dropped and refilled from the inventory: entries of deleted desktops are
     * only removed when their agent calls again, so without a bound it would grow with every desktop ever made.
     */
    static final int HASH_LIMIT = 50_000;

    private record CachedHash(long version, String hash) {
    }

    /**
     * The desktop, if the secret is its agent's; 401 otherwise (checked before the body is even parsed). A desktop
     * being refreshed accepts no agent at all: its old secret is void from the moment the refresh starts, its new one
     * is in the guest only once the refresh is done.
     */
    public DesktopState authenticate(String desktopId, String secret) {
        DesktopState desktop = desktops.get(desktopId).orElse(null);
        if (desktop == null) {
            secretHashes.remove(desktopId);
        }
        String hash = desktop == null || desktop.status() == DesktopStatus.REFRESHING ? null : hashAt(desktop);
        if (!AgentSecrets.matches(secret, hash)) {
            // the same answer for an unknown desktop and a wrong secret
            throw new ProblemException(401, "unauthorized", "Unauthorized", "unknown desktop or wrong secret");
        }
        return desktop;
    }

    /** The hash of the desktop's current secret; null when the inventory cannot tell now. */
    String currentHash(DesktopState desktop) {
        try {
            return hashAt(desktop);
        } catch (RuntimeException e) { // the database is down
            return null;
        }
    }

    private String hashAt(DesktopState desktop) {
        CachedHash cached = secretHashes.get(desktop.id());
        if (cached == null || cached.version() != desktop.version()) {
            cached = new CachedHash(desktop.version(),
                    inventory.find(desktop.id()).map(e -> e.agentSecretHash).orElse(null));
            if (secretHashes.size() >= HASH_LIMIT) {
                secretHashes.clear();
            }
            secretHashes.put(desktop.id(), cached);
        }
        return cached.hash();
    }

    public void handle(String desktopId, String secret, AgentEvent event) {
        DesktopState desktop = authenticate(desktopId, secret);
        checkIns.checkedIn(desktop, hashAt(desktop));
        Optional<SessionState> session = Optional.ofNullable(desktop.sessionId()).flatMap(sessions::get);
        switch (event.type()) {
            case "ready" -> {
                if (desktop.status() == DesktopStatus.STARTING) {
                    transitions.started(desktop);
                }
            }
            case "logon" -> session.ifPresent(sessionService::connected);
            case "disconnect" -> session.ifPresent(sessionService::disconnected);
            case "logoff" -> session.ifPresent(s -> sessionService.end(s.id(), "logoff reported by the desktop",
                    "agent"));
            default -> {
                // heartbeat: proof of life, and the user's idleness when the agent knows it (idle timeout)
                if (event.idleSeconds() != null) {
                    session.ifPresent(s -> sessionService.reportIdle(s, event.idleSeconds()));
                }
            }
        }
    }
}
