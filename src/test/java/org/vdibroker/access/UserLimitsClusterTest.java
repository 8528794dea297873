package org.vdibroker.access;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.ws.rs.WebApplicationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.vdibroker.BrokerConfig;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.EmbeddedCacheNodes;

/**
 * Broker nodes' caches in this JVM (the broker's own infinispan-cluster.xml over loopback), each with its own
 * UserLimits as nodes behind a load balancer have: the per-user limits hold for the cluster, not per node.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class UserLimitsClusterTest {

    private static final int TICKETS = 10;
    private static final int DESKTOP_REQUESTS = 12;
    private static final int STREAMS = 3;
    private static final Duration LEASE = Duration.ofMillis(1500);
    private static final List<DefaultCacheManager> NODES = new ArrayList<>();
    private static final List<UserLimits> LIMITS = new ArrayList<>();

    @BeforeAll
    static void startThreeNodes() throws Exception {
        // three: when one dies the other two are still a majority, so the caches keep answering (with two, the
        // survivor of a crash is a minority and counts on its own, see ClusterSlots)
        NODES.addAll(EmbeddedCacheNodes.start("user-limits-test", 3, CacheNames.LOGIN_LIMITS,
                CacheNames.EVENT_STREAM_SLOTS));
        for (DefaultCacheManager node : NODES.subList(0, 2)) {
            LIMITS.add(limits(node, LEASE));
        }
    }

    private static UserLimits limits(DefaultCacheManager node, Duration lease) {
        UserLimits limits = new UserLimits();
        limits.init(node.<String, Object>getCache(CacheNames.LOGIN_LIMITS).getAdvancedCache(),
                node.<String, HashMap<String, Long>>getCache(CacheNames.EVENT_STREAM_SLOTS).getAdvancedCache(),
                perUser(), lease);
        return limits;
    }

    @AfterAll
    static void stop() {
        NODES.forEach(DefaultCacheManager::stop);
        NODES.clear(); // a rerun of a failed test starts afresh
        LIMITS.clear();
    }

    @Test
    @Order(1)
    void aTicketFloodSpreadOverTwoNodesGetsTheLimitOnceAndAnotherUserStillGetsHis() {
        int allowed = flood(u -> LIMITS.get(u % 2).ticket("alice"), 3 * TICKETS);
        assertThat(allowed).isBetween(TICKETS, TICKETS + 1); // +1: a window slot may start during the flood
        for (int i = 0; i < TICKETS - 1; i++) {
            LIMITS.get(i % 2).ticket("bob"); // never 429: alice's flood is hers alone
        }
        WebApplicationException refused = catchRefusal(() -> LIMITS.get(1).ticket("alice"));
        assertThat(refused.getResponse().getStatus()).isEqualTo(429);
        assertThat(refused.getResponse().getHeaderString("Retry-After")).matches("[1-9][0-9]*");
    }

    @Test
    @Order(2)
    void desktopRequestsAreLimitedForTheClusterToo() {
        int allowed = flood(u -> LIMITS.get(u % 2).desktopRequest("carol"), 3 * DESKTOP_REQUESTS);
        assertThat(allowed).isBetween(DESKTOP_REQUESTS, DESKTOP_REQUESTS + 1);
        LIMITS.get(0).desktopRequest("dave");
        LIMITS.get(1).desktopRequest("dave");
    }

    @Test
    @Order(3)
    void openEventStreamsCountOverBothNodesAndAClosedOneFreesItsSlotEverywhere() {
        LIMITS.get(0).streamOpened("erin");
        LIMITS.get(1).streamOpened("erin");
        LIMITS.get(0).streamOpened("erin");
        assertThat(catchRefusal(() -> LIMITS.get(1).streamOpened("erin")).getResponse().getStatus()).isEqualTo(429);
        LIMITS.get(0).streamOpened("frank"); // another user is not affected
        LIMITS.get(0).streamClosed("erin");
        LIMITS.get(1).streamOpened("erin"); // the slot closed on node 0 is free on node 1
        // renewed leases keep counting past the lease
        sleepAndRenew(LEASE.multipliedBy(2));
        assertThat(catchRefusal(() -> LIMITS.get(0).streamOpened("erin")).getResponse().getStatus()).isEqualTo(429);
    }

    @Test
    @Order(4)
    void theSlotsOfANodeThatDiesWithStreamsOpenLapseAfterTheirLease() throws Exception {
        // a longer lease than the other tests': a node's leaving the cluster takes a second or two
        Duration lease = Duration.ofSeconds(6);
        UserLimits dying = limits(NODES.get(2), lease);
        UserLimits surviving = limits(NODES.get(1), lease);
        dying.streamOpened("grace");
        dying.streamOpened("grace");
        surviving.streamOpened("grace");
        long opened = System.nanoTime();
        NODES.get(2).stop(); // node 2 dies with two of grace's streams open: nobody closes them
        long settled = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (NODES.get(1).getCache(CacheNames.EVENT_STREAM_SLOTS).getAdvancedCache().getDistributionManager()
                .getCacheTopology().getMembers().size() > 2) {
            assertThat(System.nanoTime()).as("the cache's topology lost node 2").isLessThan(settled);
            Thread.sleep(50); // while the cache rebalances, a node may count on its own (ClusterSlots' fallback)
        }
        WebApplicationException refused = catchRefusal(() -> surviving.streamOpened("grace"));
        assertThat(System.nanoTime() - opened).as("checked within the lease").isLessThan(lease.toNanos());
        assertThat(refused.getResponse().getStatus()).as("node 2's streams still count within their lease")
                .isEqualTo(429);
        long lapsed = opened + lease.toNanos() + Duration.ofMillis(100).toNanos();
        while (System.nanoTime() < lapsed) { // node 1 keeps its own stream renewed meanwhile
            surviving.renewStreams();
            Thread.sleep(200);
        }
        surviving.streamOpened("grace");
        surviving.streamOpened("grace"); // both of the dead node's slots are free: 3 of 3 held here now
        assertThat(catchRefusal(() -> surviving.streamOpened("grace")).getResponse().getStatus()).isEqualTo(429);
    }

    private static int flood(java.util.function.IntConsumer request, int count) {
        int allowed = 0;
        for (int i = 0; i < count; i++) { // as a load balancer sends them: round-robin
            try {
                request.accept(i);
                allowed++;
            } catch (WebApplicationException e) {
                assertThat(e.getResponse().getStatus()).isEqualTo(429);
            }
        }
        return allowed;
    }

    private static void sleepAndRenew(Duration total) {
        long end = System.nanoTime() + total.toNanos();
        while (System.nanoTime() < end) {
            LIMITS.forEach(UserLimits::renewStreams);
            try {
                Thread.sleep(LEASE.toMillis() / 3);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static WebApplicationException catchRefusal(Runnable call) {
        try {
            call.run();
        } catch (WebApplicationException e) {
            return e;
        }
        throw new AssertionError("expected 429");
    }

    private static BrokerConfig.Requests.PerUser perUser() {
        return new BrokerConfig.Requests.PerUser() {
            @Override
            public int desktopRequests() {
                return DESKTOP_REQUESTS;
            }

            @Override
            public int tickets() {
                return TICKETS;
            }

            @Override
            public int eventStreams() {
                return STREAMS;
            }

            @Override
            public Duration window() {
                return Duration.ofMinutes(1);
            }
        };
    }
}
