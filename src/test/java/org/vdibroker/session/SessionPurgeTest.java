package org.vdibroker.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Ended sessions are forgotten once older than the retention, oldest first, and only those: the store keeps them
 * ordered by when they ended, so a purge stops at the first one still too young.
 */
@QuarkusTest
class SessionPurgeTest {

    @Inject
    SessionStore store;

    @Test
    void onlySessionsEndedBeforeTheCutOffAreForgottenAndAReEndedSessionMovesInTheOrder() {
        // a day ahead, so the pool manager's own purge (retention before now) leaves them to this test
        Instant base = Instant.now().plus(Duration.ofDays(1));
        String pool = "purge-" + UUID.randomUUID();
        List<String> ids = new ArrayList<>();
        for (int hour = 1; hour <= 3; hour++) {
            ids.add(ended(pool, "user" + hour, base.plus(Duration.ofHours(hour))));
        }

        assertThat(store.purgeEnded(base.plus(Duration.ofMinutes(150)), 0)).as("limit 0").isZero();
        assertThat(ids).allMatch(id -> store.get(id).isPresent());

        // the youngest is written again with an older end: the order follows the change
        store.update(ids.get(2), s -> withChangedAt(s, base.plus(Duration.ofMinutes(30))));
        store.purgeEnded(base.plus(Duration.ofMinutes(150)), Integer.MAX_VALUE);
        assertThat(store.get(ids.get(0))).as("ended at +1 h").isEmpty();
        assertThat(store.get(ids.get(1))).as("ended at +2 h").isEmpty();
        assertThat(store.get(ids.get(2))).as("re-ended at +30 min").isEmpty();

        String young = ended(pool, "user4", base.plus(Duration.ofHours(4)));
        store.purgeEnded(base.plus(Duration.ofMinutes(150)), Integer.MAX_VALUE);
        assertThat(store.get(young)).as("ended after the cut-off").isPresent();
        store.purgeEnded(base.plus(Duration.ofHours(5)), Integer.MAX_VALUE);
        assertThat(store.get(young)).as("once older than the cut-off").isEmpty();
    }

    private String ended(String pool, String user, Instant at) {
        SessionState open = store.openOrGet(pool, "sub-" + UUID.randomUUID(), user, "rdp");
        store.update(open.id(), s -> withChangedAt(new SessionState(s.id(), s.poolId(), s.subject(), s.user(),
                SessionStatus.ENDED, null, s.protocol(), s.queueTicket(), s.createdAt(), at, s.lastSeenAt(), "test",
                null, s.version() + 1), at));
        assertThat(store.get(open.id()).orElseThrow().status()).isEqualTo(SessionStatus.ENDED);
        return open.id();
    }

    private static SessionState withChangedAt(SessionState s, Instant at) {
        return new SessionState(s.id(), s.poolId(), s.subject(), s.user(), s.status(), s.desktopId(), s.protocol(),
                s.queueTicket(), s.createdAt(), at, s.lastSeenAt(), s.endReason(), s.idleSince(), s.version() + 1);
    }
}
