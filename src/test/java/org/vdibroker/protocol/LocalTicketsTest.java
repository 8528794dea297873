package org.vdibroker.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.infinispan.Cache;
import org.infinispan.manager.DefaultCacheManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.EmbeddedCacheNodes;
import org.vdibroker.cluster.LocalKeys;

/**
 * On three nodes of the broker's cluster shape, a node issues tickets whose hash it holds the primary copy of (the
 * write on the desktop request's path is one copy to the backup), and they stay what tickets must be: distinct, and
 * redeemed exactly once, through any node.
 */
class LocalTicketsTest {

    private static List<DefaultCacheManager> nodes = List.of();

    @BeforeAll
    static void startThreeNodes() throws Exception {
        nodes = EmbeddedCacheNodes.start("local-tickets-test", 3, CacheNames.TICKETS);
    }

    @AfterAll
    static void stop() {
        nodes.forEach(DefaultCacheManager::stop);
    }

    @Test
    void ticketsAreStoredOnTheIssuingNodeAndRedeemedOnceAnywhere() {
        List<TicketService> services = nodes.stream().map(LocalTicketsTest::service).toList();
        Set<String> issued = new HashSet<>();
        for (int n = 0; n < nodes.size(); n++) {
            Cache<String, TicketState> cache = nodes.get(n).getCache(CacheNames.TICKETS);
            for (int i = 0; i < 60; i++) {
                String ticket = services.get(n).issue("s-" + n + "-" + i, "d-1", "sub-1", "alice", "rdp",
                        Duration.ofMinutes(1)).ticket();
                assertThat(issued.add(ticket)).as("a ticket issued twice").isTrue();
                assertThat(ticket).hasSize(24); // 18 random bytes, unpadded base64url
                assertThat(LocalKeys.primaryHere(cache).test(TicketService.hash(ticket)))
                        .as("ticket %d of node %d stored under a key the node holds the primary copy of", i, n)
                        .isTrue();
                TicketService other = services.get((n + 1 + i % 2) % nodes.size());
                assertThat(other.redeem(ticket)).get().extracting(TicketState::sessionId).isEqualTo("s-" + n + "-" + i);
                assertThat(services.get(n).redeem(ticket)).isEmpty();
            }
        }
    }

    private static TicketService service(DefaultCacheManager node) {
        TicketService service = new TicketService();
        service.manager = node;
        service.init();
        return service;
    }
}
