package org.vdibroker.access;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/** A waiting client can follow its session as server-sent events until it has a desktop. */
@QuarkusTest
class SessionEventsTest {

    @Test
    void eventsFollowTheSessionUntilItIsReady() {
        // clone and boot last long enough for the stream, subscribed after the request, to see the session wait
        Api.simulator("sim-events", 10, 4000, 4000);
        Api.createPool(Api.pool("events", "floating", 0, 0, 2, "sim-events", List.of("/engineering")));
        String token = Tokens.user("watcher", "/engineering");
        String id = Api.requestDesktop(token, "events").then().statusCode(202).extract().jsonPath().getString("id");

        String stream = given().auth().oauth2(token).accept("text/event-stream")
                .get("/api/v1/me/sessions/" + id + "/events").then().statusCode(200).extract().asString();
        List<String> events = stream.lines().filter(l -> l.startsWith("data:")).toList();
        assertThat(events.get(0)).containsPattern("\"state\":\"(QUEUED|PROVISIONING)\"")
                .contains("\"queuePosition\":1");
        assertThat(events.get(events.size() - 1)).contains("\"state\":\"READY\"").contains("\"desktopId\"");
    }
}
