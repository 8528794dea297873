package org.vdibroker.pool;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.simulator.SimulatorControl;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/** A refresh that fails is tried again; a desktop whose refresh fails maxFailures (3) times in a row is retired. */
@QuarkusTest
class RefreshFailureTest {

    @Inject
    SimulatorControl simulator;

    @Test
    void aDesktopIsRetiredWhenItsRefreshFailsThreeTimesInARow() {
        Api.simulator("sim-refresh-fail", 10, 100, 100);
        Api.createPool(Api.pool("refresh-fail", "floating", 1, 0, 1, "sim-refresh-fail", List.of("/engineering")));
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("refresh-fail", "READY") == 1);

        // two failures: retried, and the same desktop comes back
        simulator.failNextReverts("sim-refresh-fail", 2);
        String first = useAndLogOff("first");
        await("refreshed after two failures", Duration.ofSeconds(20),
                () -> "READY".equals(stateOf(first)));
        assertThat(Api.desktop("refresh-fail", first).get("failures")).isEqualTo(0);

        // three failures in a row: retired and replaced by a new desktop
        simulator.failNextReverts("sim-refresh-fail", 3);
        String second = useAndLogOff("second");
        assertThat(second).isEqualTo(first);
        await("retired and replaced", Duration.ofSeconds(20), () -> {
            List<Map<String, Object>> all = Api.desktops("refresh-fail");
            return all.stream().noneMatch(d -> first.equals(d.get("id")))
                    && all.stream().anyMatch(d -> "READY".equals(d.get("state")));
        });
    }

    /** A user takes the pool's desktop and logs off; returns the desktop's id. */
    static String useAndLogOff(String user) {
        String token = Tokens.user(user, "/engineering");
        JsonPath got = Api.requestDesktop(token, "refresh-fail").then().statusCode(200).extract().jsonPath();
        given().auth().oauth2(token).post("/api/v1/me/sessions/" + got.getString("id") + "/logoff").then()
                .statusCode(200);
        return got.getString("desktopId");
    }

    static String stateOf(String desktopId) {
        return Api.desktops("refresh-fail").stream().filter(d -> desktopId.equals(d.get("id")))
                .map(d -> (String) d.get("state")).findFirst().orElse("GONE");
    }
}
