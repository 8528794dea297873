package org.vdibroker.access;

import io.quarkus.scheduler.Scheduled;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.infinispan.AdvancedCache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.BrokerConfig;
import org.vdibroker.access.login.ClusterSlots;
import org.vdibroker.access.login.ClusterWindowLimiter;
import org.vdibroker.api.Problem;
import org.vdibroker.cluster.CacheNames;

/**
 * Per-user limits on desktop requests, tickets and open event streams (broker.requests.per-user.*), counted by all
 * nodes together: a client the load balancer spreads over N nodes gets each limit once, not N times. Over a limit the
 * user gets 429 with Retry-After; other users are not affected.
 *
 * <p>Requests and tickets count in the sliding windows of {@link ClusterWindowLimiter} (cache {@code login-limits},
 * next to the sign-in limits). Each open event stream is a slot of {@link ClusterSlots} (cache
 * {@code event-stream-slots}) leased for {@link #STREAM_LEASE} and renewed by this node while the stream is open, so
 * the slots of a node that dies lapse by themselves.
 */
@ApplicationScoped
public class UserLimits {

    /** How long an open stream's slot counts without renewal; renewed every third of it. */
    static final Duration STREAM_LEASE = Duration.ofSeconds(30);

    @Inject
    BrokerConfig config;

    @Inject
    EmbeddedCacheManager caches;

    private ClusterWindowLimiter desktopRequests;
    private ClusterWindowLimiter tickets;
    private ClusterSlots streams;
    /** user -> the ids of the stream slots this node holds for the user (immutable lists, replaced on change). */
    private final ConcurrentHashMap<String, List<String>> streamsHere = new ConcurrentHashMap<>();

    @PostConstruct
    void init() {
        init(caches.<String, Object>getCache(CacheNames.LOGIN_LIMITS).getAdvancedCache(),
                caches.<String, HashMap<String, Long>>getCache(CacheNames.EVENT_STREAM_SLOTS).getAdvancedCache(),
                config.requests().perUser(), STREAM_LEASE);
    }

    /** Also for tests that give two nodes' caches to two instances. */
    void init(AdvancedCache<String, Object> counts, AdvancedCache<String, HashMap<String, Long>> slots,
            BrokerConfig.Requests.PerUser limits, Duration lease) {
        desktopRequests = new ClusterWindowLimiter(counts, "desktop-request", limits.desktopRequests(),
                limits.window());
        tickets = new ClusterWindowLimiter(counts, "ticket", limits.tickets(), limits.window());
        streams = new ClusterSlots(slots, "stream", limits.eventStreams(), lease);
    }

    public void desktopRequest(String user) {
        check(desktopRequests.tryAcquire(user), "desktop requests");
    }

    public void ticket(String user) {
        check(tickets.tryAcquire(user), "connection tickets");
    }

    /** Takes one of the user's event-stream slots; {@link #streamClosed} gives it back. */
    public void streamOpened(String user) {
        String slot = UUID.randomUUID().toString();
        // the cache is asked outside compute(): no map lock is held across a network call
        if (!streams.tryTake(user, slot, streamsHere.getOrDefault(user, List.of()).size())) {
            check(Duration.ofSeconds(5), "open event streams");
        }
        streamsHere.compute(user, (u, held) -> with(held == null ? List.of() : held, slot));
    }

    /** Gives back one of the slots this node holds for the user (they are all alike). */
    public void streamClosed(String user) {
        String[] slot = new String[1];
        streamsHere.computeIfPresent(user, (u, held) -> {
            slot[0] = held.get(0);
            return held.size() == 1 ? null : List.copyOf(held.subList(1, held.size()));
        });
        if (slot[0] != null) {
            streams.release(user, slot[0]);
        }
    }

    /** Keeps the slots of this node's open streams counted: one conditional write per user with streams open. */
    @Scheduled(every = "10s", delayed = "10s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void renewStreams() {
        streamsHere.forEach(streams::renew);
    }

    private static List<String> with(List<String> held, String slot) {
        List<String> next = new ArrayList<>(held);
        next.add(slot);
        return List.copyOf(next);
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
