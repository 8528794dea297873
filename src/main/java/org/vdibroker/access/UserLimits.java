package org.vdibroker.access;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.vdibroker.BrokerConfig;
import org.vdibroker.access.login.SlidingWindowLimiter;
import org.vdibroker.api.Problem;

/**
 * Per-user limits on desktop requests, tickets and open event streams (broker.requests.per-user.*), kept per node.
 * Over a limit the user gets 429 with Retry-After; other users are not affected.
 */
@ApplicationScoped
public class UserLimits {

    @Inject
    BrokerConfig config;

    private SlidingWindowLimiter desktopRequests;
    private SlidingWindowLimiter tickets;
    private final ConcurrentHashMap<String, AtomicInteger> streams = new ConcurrentHashMap<>();

    @PostConstruct
    void init() {
        BrokerConfig.Requests.PerUser limits = config.requests().perUser();
        desktopRequests = new SlidingWindowLimiter(limits.desktopRequests(), limits.window());
        tickets = new SlidingWindowLimiter(limits.tickets(), limits.window());
    }

    public void desktopRequest(String user) {
        check(desktopRequests.tryAcquire(user), "desktop requests");
    }

    public void ticket(String user) {
        check(tickets.tryAcquire(user), "connection tickets");
    }

    /** Takes one of the user's event-stream slots; {@link #streamClosed} gives it back. */
    public void streamOpened(String user) {
        AtomicInteger open = streams.computeIfAbsent(user, u -> new AtomicInteger());
        if (open.incrementAndGet() > config.requests().perUser().eventStreams()) {
            streamClosed(user);
            check(Duration.ofSeconds(5), "open event streams");
        }
    }

    public void streamClosed(String user) {
        streams.computeIfPresent(user, (u, open) -> open.decrementAndGet() <= 0 ? null : open);
    }

    private static void check(Duration wait, String what) {
        if (!wait.isZero()) {
            long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
            throw new jakarta.ws.rs.WebApplicationException(Response.fromResponse(Problem.of(429,
                    "too-many-requests", "Too many requests", "too many " + what + " from you; retry later")
                    .toResponse()).header(HttpHeaders.RETRY_AFTER, String.valueOf(seconds)).build());
        }
    }
}
