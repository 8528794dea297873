package org.vdibroker.access;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;
import org.vdibroker.session.SessionStore;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * Queue positions are counted from an ordered index rather than by walking the queue: when users leave the middle
 * of the queue, everybody behind them moves up, and those ahead of them keep their place.
 */
@QuarkusTest
class QueuePositionTest {

    @Inject
    SessionStore sessions;

    @Inject
    EmbeddedCacheManager caches;

    @Test
    void usersBehindOneWhoLeavesTheMiddleOfTheQueueMoveUp() {
        Api.simulator("sim-qpos", 10, 600_000, 600_000);
        Api.createPool(Api.pool("qpos", "floating", 0, 0, 0, "sim-qpos", List.of("/engineering")));
        String[] tokens = new String[6];
        String[] sessions = new String[6];
        for (int i = 0; i < 6; i++) {
            tokens[i] = Tokens.user("qpos-" + i, "/engineering");
            var queued = Api.requestDesktop(tokens[i], "qpos").then().statusCode(202).extract().jsonPath();
            assertThat(queued.getInt("queuePosition")).isEqualTo(i + 1);
            sessions[i] = queued.getString("id");
        }
        // the second and the fifth give up
        for (int leaver : new int[] {1, 4}) {
            given().auth().oauth2(tokens[leaver]).post("/api/v1/me/sessions/" + sessions[leaver] + "/logoff").then()
                    .statusCode(200);
        }
        int[] expected = {1, 0, 2, 3, 0, 4};
        for (int i = 0; i < 6; i++) {
            var view = given().auth().oauth2(tokens[i]).get("/api/v1/me/sessions/" + sessions[i]).then()
                    .statusCode(200).extract().jsonPath();
            if (expected[i] == 0) {
                assertThat(view.getString("state")).as("user %d left", i).isEqualTo("ENDED");
                assertThat((Object) view.get("queuePosition")).as("user %d left", i).isNull();
            } else {
                assertThat(view.getInt("queuePosition")).as("user %d", i).isEqualTo(expected[i]);
            }
        }
        // a newcomer queues behind the four still waiting
        var newcomer = Api.requestDesktop(Tokens.user("qpos-late", "/engineering"), "qpos").then().statusCode(202)
                .extract().jsonPath();
        assertThat(newcomer.getInt("queuePosition")).isEqualTo(5);
    }

    /**
     * The queue ticket is one write on a single cluster-wide key per pool, so only a session that has to wait takes
     * one: a user who finds a ready desktop never touches it.
     */
    @Test
    void onlyAUserWhoHasToWaitTakesAQueueTicket() {
        Api.simulator("sim-qticket", 1, 0, 0);
        Api.createPool(Api.pool("qticket", "floating", 1, 1, 1, "sim-qticket", List.of("/engineering")));
        Api.await("a ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("qticket", "READY") == 1);

        String served = Api.requestDesktop(Tokens.user("qticket-1", "/engineering"), "qticket").then()
                .statusCode(200).extract().jsonPath().getString("id");
        assertThat(sessions.get(served).orElseThrow().queueTicket()).isZero();

        String waiting = Api.requestDesktop(Tokens.user("qticket-2", "/engineering"), "qticket").then()
                .statusCode(202).extract().jsonPath().getString("id");
        SessionState queued = sessions.get(waiting).orElseThrow();
        assertThat(queued.queueTicket()).isPositive();
        assertThat(sessions.queue("qticket")).extracting(SessionState::id).containsExactly(waiting);
    }

    /**
     * A node that dies after creating a user's session but before the session got a desktop or a ticket leaves it
     * outside the queue; the pool manager puts it in after the orphan grace, behind those already waiting.
     */
    @Test
    void aSessionWhoseRequestDiedJoinsTheQueueBehindThoseWaiting() {
        String first = poolWithOneQueued("qstrand");
        // what a request does before it claims or queues, and nothing after it
        SessionState stranded = sessions.openOrGet("qstrand", "sub-qstrand-2", "qstrand-2", "rdp");
        assertThat(stranded.queueTicket()).isZero();
        assertThat(sessions.queue("qstrand")).extracting(SessionState::id).containsExactly(first);

        Api.await("the stranded session queued", Duration.ofSeconds(30),
                () -> sessions.queue("qstrand").size() == 2);
        assertThat(sessions.queue("qstrand")).extracting(SessionState::id).containsExactly(first, stranded.id());
        var view = given().auth().oauth2(Tokens.user("qstrand-2", "/engineering"))
                .get("/api/v1/me/sessions/" + stranded.id()).then().statusCode(200).extract().jsonPath();
        assertThat(view.getInt("queuePosition")).isEqualTo(2);
    }

    /**
     * A node that dies between writing a user's new session and publishing it in {@code user-sessions} leaves a
     * session nobody was told of. It must never become a second live session of its user (the user's retry through
     * another node got the one the index names): the pool manager ends it instead of queueing it, for a user who
     * retried and for one who did not, and leaves the published session waiting alone.
     */
    @Test
    void aSessionWrittenButNeverPublishedIsEndedNotQueued() {
        String retried = poolWithOneQueued("qunpub");
        String subject = sessions.get(retried).orElseThrow().subject();
        // openOrGet's first write without its second: the user retried (above) and a user who did not
        Instant before = Instant.now().minusSeconds(60);
        SessionState ofRetried = unpublished("qunpub", subject, "qunpub-1", before);
        SessionState ofOther = unpublished("qunpub", "sub-qunpub-2", "qunpub-2", before);

        Api.await("both unpublished sessions ended", Duration.ofSeconds(30),
                () -> ended(ofRetried.id()) && ended(ofOther.id()));
        assertThat(sessions.get(ofRetried.id()).orElseThrow().endReason()).isEqualTo("unpublished");
        assertThat(sessions.queue("qunpub")).extracting(SessionState::id).containsExactly(retried);
        assertThat(sessions.liveSession("qunpub", subject)).map(SessionState::id).contains(retried);
        assertThat(sessions.liveSession("qunpub", "sub-qunpub-2")).isEmpty();
    }

    /**
     * A queued user who stops asking about their session for {@code queue-abandon-after} (10 min) leaves the queue,
     * and those behind move up; a user who asked recently keeps their place. The tick finds them in an index ordered
     * by when each user last asked, so it never reads the rest of the queue for it.
     */
    @Test
    void aQueuedUserWhoStopsAskingLeavesTheQueue() {
        String first = poolWithOneQueued("qgone");
        String second = Api.requestDesktop(Tokens.user("qgone-2", "/engineering"), "qgone").then().statusCode(202)
                .extract().jsonPath().getString("id");
        String third = Api.requestDesktop(Tokens.user("qgone-3", "/engineering"), "qgone").then().statusCode(202)
                .extract().jsonPath().getString("id");
        // the first and the third last asked 11 minutes ago; the second 9 minutes ago
        lastAsked(first, Duration.ofMinutes(11));
        lastAsked(second, Duration.ofMinutes(9));
        lastAsked(third, Duration.ofMinutes(11));

        Api.await("the two who stopped asking gone", Duration.ofSeconds(30), () -> ended(first) && ended(third));
        assertThat(sessions.get(first).orElseThrow().endReason()).isEqualTo("abandoned");
        assertThat(sessions.queue("qgone")).extracting(SessionState::id).containsExactly(second);
        var view = given().auth().oauth2(Tokens.user("qgone-2", "/engineering"))
                .get("/api/v1/me/sessions/" + second).then().statusCode(200).extract().jsonPath();
        assertThat(view.getString("state")).isEqualTo("QUEUED");
        assertThat(view.getInt("queuePosition")).isEqualTo(1);
        // what admins see: the live sessions, or those in one state
        assertThat(adminList("pool=qgone")).containsExactly(second);
        assertThat(adminList("pool=qgone&state=queued")).containsExactly(second);
        assertThat(adminList("pool=qgone&state=ENDED")).containsExactlyInAnyOrder(first, third);
        assertThat(adminList("pool=qgone&state=READY")).isEmpty();
    }

    private static List<String> adminList(String query) {
        return given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/sessions?" + query).then().statusCode(200)
                .extract().jsonPath().getList("id", String.class);
    }

    /** Writes the session as if its user had last asked about it {@code ago}. */
    private void lastAsked(String sessionId, Duration ago) {
        assertThat(sessions.update(sessionId, s -> s.seen(Instant.now().minus(ago)))).isPresent();
    }

    private SessionState unpublished(String poolId, String subject, String user, Instant at) {
        SessionState s = new SessionState(UUID.randomUUID().toString(), poolId, subject, user, SessionStatus.QUEUED,
                null, "rdp", 0, at, at, at, null, null, 1);
        caches.<String, SessionState>getCache(CacheNames.SESSIONS).put(s.id(), s);
        return s;
    }

    private boolean ended(String sessionId) {
        return sessions.get(sessionId).map(s -> s.status() == SessionStatus.ENDED).orElse(false);
    }

    /**
     * A pool of no desktops on a simulator of its own (named sim-{pool}) and user {pool}-1 queued in it; the
     * session's id.
     */
    private static String poolWithOneQueued(String pool) {
        Api.simulator("sim-" + pool, 10, 600_000, 600_000);
        Api.createPool(Api.pool(pool, "floating", 0, 0, 0, "sim-" + pool, List.of("/engineering")));
        return Api.requestDesktop(Tokens.user(pool + "-1", "/engineering"), pool).then()
                .statusCode(202).extract().jsonPath().getString("id");
    }
}
