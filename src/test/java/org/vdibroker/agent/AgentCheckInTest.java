package org.vdibroker.agent;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.simulator.SimulatorControl;
import org.vdibroker.security.AgentSecrets;
import org.vdibroker.testsupport.Api;

/**
 * With {@code broker.agents.check-in-grace} set, a ready desktop whose agent never checks in with its current secret
 * (as when a refresh's new secret never reached the guest) is refreshed with new secrets, then failed and replaced,
 * and the pool shows why; a desktop whose agent checks in is left alone.
 */
@QuarkusTest
@TestProfile(AgentCheckInTest.Grace.class)
class AgentCheckInTest {

    /** Two seconds of grace, two refreshes before a silent desktop is failed. */
    public static class Grace implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("broker.agents.check-in-grace", "2s", "broker.agents.check-in-refreshes", "2");
        }
    }

    private static int runs;

    @Inject
    SimulatorControl simulator;

    /** The pool's and its hypervisor's name: a rerun of a failed test uses new ones. */
    private String pool;

    @Test
    void aDesktopWhoseAgentNeverChecksInIsRefreshedThenReplacedAndThePoolShowsWhy() throws Exception {
        pool = "silent" + ++runs;
        Api.simulator("sim-" + pool, 10, 50, 50);
        Api.createPool(Api.pool(pool, "floating", 1, 0, 1, "sim-" + pool, List.of("/engineering")));
        await("ready desktop", Duration.ofSeconds(60), () -> Api.desktopsIn(pool, "READY") == 1);
        String first = readyDesktop().orElseThrow();
        assertThat(status().getString("problem.kind")).isNull();

        // nobody speaks with the desktop's secret: each grace brings a refresh with a new secret, two of them
        Set<String> secrets = new LinkedHashSet<>();
        await("two refreshes with new secrets", Duration.ofSeconds(60), () -> {
            secretOf(first).ifPresent(secrets::add);
            return secrets.size() >= 3;
        });
        // then the desktop is failed and replaced, and the pool says why
        await("silent desktop replaced", Duration.ofSeconds(60), () -> Api.desktops(pool).stream()
                .noneMatch(d -> first.equals(d.get("id"))) && readyDesktop().isPresent());
        JsonPath status = status();
        assertThat(status.getString("problem.kind")).isEqualTo("agent-silent");
        assertThat(status.getString("problem.detail")).contains("did not check in");

        // the replacement's agent checks in: the problem is cleared and the desktop is kept with its secret
        String second = readyDesktop().orElseThrow();
        String secret = secretOf(second).orElseThrow();
        given().header("Authorization", "Desktop " + secret).contentType("application/json")
                .body("{\"type\":\"heartbeat\"}").post("/api/v1/agent/desktops/" + second + "/events").then()
                .statusCode(204);
        await("problem cleared", Duration.ofSeconds(20), () -> status().getString("problem.kind") == null);
        Thread.sleep(Duration.ofSeconds(4).toMillis()); // two graces
        assertThat(Api.desktop(pool, second).get("state")).isEqualTo("READY");
        assertThat(secretOf(second)).contains(secret);
    }

    private Optional<String> readyDesktop() {
        return Api.desktops(pool).stream().filter(d -> "READY".equals(d.get("state")))
                .map(d -> (String) d.get("id")).findFirst();
    }

    private Optional<String> secretOf(String desktopId) {
        return Api.desktops(pool).stream().filter(d -> desktopId.equals(d.get("id")))
                .filter(d -> "READY".equals(d.get("state")) && d.get("vmRef") != null).findFirst()
                .map(d -> simulator.guestMetadata("sim-" + pool, (String) d.get("vmRef")).get(AgentSecrets.METADATA_KEY));
    }

    private JsonPath status() {
        return given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/" + pool + "/status").then().statusCode(200)
                .extract().jsonPath();
    }
}
