package org.vdibroker.access;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * Queue positions are counted from an ordered index rather than by walking the queue: when users leave the middle
 * of the queue, everybody behind them moves up, and those ahead of them keep their place.
 */
@QuarkusTest
class QueuePositionTest {

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
}
