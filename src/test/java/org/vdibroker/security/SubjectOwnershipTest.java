package org.vdibroker.security;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.session.SessionState;
import org.vdibroker.session.SessionStatus;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * What a user holds is keyed by the token's {@code sub}, not the user name: a user deleted and re-created in Keycloak
 * with the same name (or a second identity provider mapping the same name) is someone else and inherits nothing of
 * the first one's sessions, queue place, dedicated desktop, tickets or idempotent replays. Views keep showing the name.
 */
@QuarkusTest
class SubjectOwnershipTest {

    static final String PROBLEM = "application/problem+json";

    @Inject
    EmbeddedCacheManager caches;

    @Test
    void aTokenWithoutSubjectIsRefused() {
        given().auth().oauth2(Tokens.withoutSubject("nosub-s", "/engineering")).get("/api/v1/me/pools").then()
                .statusCode(401).contentType(PROBLEM);
        given().auth().oauth2(Tokens.userWithSubject("nosub-s", "sub-nosub", "/engineering"))
                .get("/api/v1/me/pools").then().statusCode(200);
    }

    @Test
    void theSameNameUnderAnotherSubjectCannotSeeEndOrConnectToTheSession() {
        String dana = Tokens.userWithSubject("dana-s", "sub-dana-1", "/engineering");
        String twin = Tokens.userWithSubject("dana-s", "sub-dana-2", "/engineering");
        Api.simulator("sim-twins", 10, 50, 50);
        Api.createPool(Api.pool("twins", "floating", 2, 0, 2, "sim-twins", List.of("/engineering")));
        await("two ready desktops", Duration.ofSeconds(30), () -> Api.desktopsIn("twins", "READY") == 2);

        JsonPath first = withKey(dana, "k-twin").then().statusCode(200).extract().jsonPath();
        String id = first.getString("id");
        assertThat(first.getString("user")).as("the name is shown").isEqualTo("dana-s");
        String base = "/api/v1/me/sessions/" + id;

        given().auth().oauth2(twin).get("/api/v1/me/sessions").then().statusCode(200).body("size()", equalTo(0));
        given().auth().oauth2(twin).get(base).then().statusCode(404).contentType(PROBLEM);
        given().auth().oauth2(twin).post(base + "/connection").then().statusCode(404).contentType(PROBLEM);
        given().auth().oauth2(twin).get(base + "/connection.rdp").then().statusCode(404);
        given().auth().oauth2(twin).get(base + "/connection.vv").then().statusCode(404);
        given().auth().oauth2(twin).get(base + "/events").then().statusCode(404);
        given().auth().oauth2(twin).post("/api/v1/console/sessions/" + id + "/ticket").then().statusCode(404)
                .contentType(PROBLEM);
        given().auth().oauth2(twin).post(base + "/logoff").then().statusCode(404).contentType(PROBLEM);
        given().auth().oauth2(dana).get(base).then().statusCode(200).body("state", equalTo("READY"));

        // the same Idempotency-Key replays nothing of dana's: the twin gets a session (and desktop) of their own
        JsonPath second = withKey(twin, "k-twin").then().statusCode(200).extract().jsonPath();
        assertThat(second.getString("id")).isNotEqualTo(id);
        assertThat(second.getString("desktopId")).isNotEqualTo(first.getString("desktopId"));
        assertThat(second.getString("user")).isEqualTo("dana-s");
        assertThat(withKey(dana, "k-twin").then().statusCode(200).extract().jsonPath().getString("id"))
                .as("dana's own replay still finds hers").isEqualTo(id);

        // a ticket says whose session it is: the subject, with the name to show
        String ticket = given().auth().oauth2(dana).post(base + "/connection").then().statusCode(200).extract()
                .path("ticket");
        given().auth().oauth2(Tokens.gateway("gw-twins")).contentType(ContentType.JSON)
                .body(Map.of("ticket", ticket)).post("/api/v1/gateway/tickets/redeem").then().statusCode(200)
                .body("sessionId", equalTo(id)).body("subject", equalTo("sub-dana-1"))
                .body("user", equalTo("dana-s"));

        // admins see both under the name, told apart by subject
        List<Map<String, Object>> listed = given().auth().oauth2(Api.ADMIN)
                .get("/api/v1/admin/sessions?user=dana-s").then().statusCode(200).extract().jsonPath().getList("$");
        assertThat(listed).extracting(s -> s.get("subject")).containsExactlyInAnyOrder("sub-dana-1", "sub-dana-2");

        given().auth().oauth2(dana).post(base + "/logoff").then().statusCode(200);
        given().auth().oauth2(twin).post("/api/v1/me/sessions/" + second.getString("id") + "/logoff").then()
                .statusCode(200);
    }

    @Test
    void theSameNameUnderAnotherSubjectNeitherGetsTheDedicatedDesktopNorTheQueuePlace() throws Exception {
        String gus = Tokens.userWithSubject("gus-d", "sub-gus-1", "/engineering");
        String twin = Tokens.userWithSubject("gus-d", "sub-gus-2", "/engineering");
        Api.simulator("sim-twin-own", 10, 50, 50);
        Api.createPool(Api.pool("twin-own", "dedicated", 1, 0, 1, "sim-twin-own", List.of("/engineering")));
        await("a ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("twin-own", "READY") == 1);

        JsonPath mine = Api.requestDesktop(gus, "twin-own").then().statusCode(200).extract().jsonPath();
        String desktopId = mine.getString("desktopId");
        given().auth().oauth2(gus).post("/api/v1/me/sessions/" + mine.getString("id") + "/logoff").then()
                .statusCode(200);
        Map<String, Object> kept = Api.desktop("twin-own", desktopId);
        assertThat(kept.get("owner")).isEqualTo("gus-d");
        assertThat(kept.get("ownerSubject")).isEqualTo("sub-gus-1");

        // the twin waits in the queue: the only desktop is gus's, even while gus has no session on it
        Response queued = Api.requestDesktop(twin, "twin-own");
        queued.then().statusCode(202).body("state", equalTo("QUEUED")).body("queuePosition", equalTo(1));
        String twinSession = queued.jsonPath().getString("id");
        Thread.sleep(2500); // two pool-manager ticks hand out nothing
        given().auth().oauth2(twin).get("/api/v1/me/sessions/" + twinSession).then().statusCode(200)
                .body("state", equalTo("QUEUED"));
        // nor can gus see or end the twin's place in the queue
        given().auth().oauth2(gus).get("/api/v1/me/sessions/" + twinSession).then().statusCode(404);
        given().auth().oauth2(gus).post("/api/v1/me/sessions/" + twinSession + "/logoff").then().statusCode(404);

        assertThat(Api.requestDesktop(gus, "twin-own").then().statusCode(200).extract().jsonPath()
                .getString("desktopId")).as("gus gets his desktop back").isEqualTo(desktopId);
        given().auth().oauth2(twin).post("/api/v1/me/sessions/" + twinSession + "/logoff").then().statusCode(200);
    }

    /**
     * During a rolling upgrade old nodes still open sessions keyed by name, without a subject. The first caller with
     * that name gets it (bound to their subject, through a desktop request or a look at the session); another
     * subject with the name then does not.
     */
    @Test
    void aSessionAnOlderBrokerOpenedIsBoundToTheFirstSubjectWithItsName() {
        Api.simulator("sim-legacy", 10, 50, 50);
        Api.createPool(Api.pool("legacy", "floating", 0, 0, 2, "sim-legacy", List.of("/engineering")));
        String hank = Tokens.userWithSubject("hank-l", "sub-hank-1", "/engineering");
        String hankTwin = Tokens.userWithSubject("hank-l", "sub-hank-2", "/engineering");
        String ivy = Tokens.userWithSubject("ivy-l", "sub-ivy-1", "/engineering");
        String ivyTwin = Tokens.userWithSubject("ivy-l", "sub-ivy-2", "/engineering");
        String hanks = openedByAnOlderBroker("legacy", "hank-l");
        String ivys = openedByAnOlderBroker("legacy", "ivy-l");

        assertThat(Api.requestDesktop(hank, "legacy").then().extract().jsonPath().getString("id"))
                .as("asking again finds the session opened under the name").isEqualTo(hanks);
        given().auth().oauth2(hankTwin).get("/api/v1/me/sessions/" + hanks).then().statusCode(404);
        String twinsOwn = Api.requestDesktop(hankTwin, "legacy").then().extract().jsonPath().getString("id");
        assertThat(twinsOwn).isNotEqualTo(hanks);

        given().auth().oauth2(ivy).get("/api/v1/me/sessions/" + ivys).then().statusCode(200)
                .body("user", equalTo("ivy-l"));
        given().auth().oauth2(ivyTwin).get("/api/v1/me/sessions/" + ivys).then().statusCode(404);
        given().auth().oauth2(ivyTwin).post("/api/v1/me/sessions/" + ivys + "/logoff").then().statusCode(404);

        for (String[] s : List.of(new String[] { hank, hanks }, new String[] { hankTwin, twinsOwn },
                new String[] { ivy, ivys })) {
            given().auth().oauth2(s[0]).post("/api/v1/me/sessions/" + s[1] + "/logoff").then().statusCode(200);
        }
    }

    /** A live session as a broker older than subjects wrote it: no subject, indexed under pool|name. */
    private String openedByAnOlderBroker(String poolId, String user) {
        Instant now = Instant.now();
        SessionState old = new SessionState(UUID.randomUUID().toString(), poolId, null, user, SessionStatus.QUEUED,
                null, "rdp", -1, now, now, now, null, null, 1);
        caches.<String, SessionState>getCache(CacheNames.SESSIONS).put(old.id(), old);
        caches.<String, String>getCache(CacheNames.USER_SESSIONS).put(poolId + "|" + user, old.id());
        return old.id();
    }

    private static Response withKey(String token, String key) {
        return given().auth().oauth2(token).header("Idempotency-Key", key).contentType(ContentType.JSON).body("{}")
                .post("/api/v1/me/pools/twins/desktop");
    }
}
