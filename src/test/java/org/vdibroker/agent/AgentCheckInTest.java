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
import java.util.concurrent.atomic.AtomicReference;
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

    @Inject
    SimulatorControl simulator;

    /** The pool's and its hypervisor's name: a rerun of a failed test uses new ones. */
    private String pool;

    @Test
    void aDesktopWhoseAgentNeverChecksInIsRefreshedThenReplacedAndThePoolShowsWhy() throws Exception {
        pool = "silent" + Long.toString(System.nanoTime() % 1_000_000, 36);
        Api.simulator("sim-" + pool, 10, 50, 50);
        Api.createPool(Api.pool(pool, "floating", 1, 0, 1, "sim-" + pool, List.of("/engineering")));
        await("ready desktop", Duration.ofSeconds(60), () -> Api.desktopsIn(pool, "READY") == 1);
        String first = readyDesktop().orElseThrow();
        assertThat(status().getString("problem.kind")).isNull();

        // nobody speaks with the desktop's secret: each grace brings a refresh with a new secret in the guest, two
        // of them; then the desktop is failed and replaced. The guest's metadata is read in-process, so a busy
        // machine cannot make the test miss a secret (each lasts at least a grace).
        String vmRef = (String) Api.desktop(pool, first).get("vmRef");
        Set<String> secrets = new LinkedHashSet<>();
        await("silent desktop replaced", Duration.ofSeconds(60), () -> {
            try {
                secrets.add(simulator.guestMetadata("sim-" + pool, vmRef).get(AgentSecrets.METADATA_KEY));
            } catch (IllegalArgumentException deleted) {
                // the VM is gone: the desktop was retired
            }
            return Api.desktops(pool).stream().noneMatch(d -> first.equals(d.get("id")))
                    && readyDesktop().isPresent();
        });
        assertThat(secrets).as("the first secret and one new one per refresh").hasSize(3);
        JsonPath status = status();
        assertThat(status.getString("problem.kind")).isEqualTo("agent-silent");
        assertThat(status.getString("problem.detail")).contains("did not check in");

        // the replacement's agent checks in (as a real agent would, it keeps trying with the secret in its guest):
        // the problem is cleared, and from then on the desktop is left alone with its secret. The replacement is
        // silent too until then, so on a slow machine its own grace may already have refreshed or replaced it: each
        // try speaks for the pool's ready desktop of the moment, with the secret its guest holds now.
        AtomicReference<String> second = new AtomicReference<>();
        await("problem cleared", Duration.ofSeconds(30), () -> {
            Api.desktops(pool).stream().filter(d -> "READY".equals(d.get("state"))).findFirst().ifPresent(d -> {
                String id = (String) d.get("id");
                String vm = (String) d.get("vmRef");
                try {
                    given().header("Authorization", "Desktop " + guestSecret(vm)).contentType("application/json")
                            .body("{\"type\":\"heartbeat\"}").post("/api/v1/agent/desktops/" + id + "/events");
                    second.set(id);
                } catch (IllegalArgumentException deleted) {
                    // retired meanwhile: the next try takes the next ready desktop
                }
            });
            return status().getString("problem.kind") == null;
        });
        String secondVm = (String) Api.desktop(pool, second.get()).get("vmRef");
        String secret = guestSecret(secondVm);
        Thread.sleep(Duration.ofMillis(4500).toMillis()); // two graces and the pool manager's ticks, all quiet
        assertThat(Api.desktop(pool, second.get()).get("state")).isEqualTo("READY");
        assertThat(guestSecret(secondVm)).isEqualTo(secret);

        // the audit trail reaches the database through the outbox, and in a long test run other pools' events
        // crowd it: read every page, and allow the outbox a moment (last, so the wait cannot run out a grace above)
        List<String> expected = List.of("desktop.agent-silent refresh 1 of 2", "desktop.agent-silent refresh 2 of 2",
                "desktop.failed agent-silent");
        await("the silent desktop's audit trail", Duration.ofSeconds(20), () -> auditOf(first).containsAll(expected));
    }

    /** The audit entries of one desktop as "kind detail", from every page of the audit trail. */
    private static List<String> auditOf(String desktopId) {
        List<String> found = new java.util.ArrayList<>();
        for (int page = 0; page < 100; page++) {
            List<Map<String, Object>> events = given().auth().oauth2(Api.ADMIN).queryParam("page", page)
                    .queryParam("size", 500).get("/api/v1/admin/audit").then().statusCode(200).extract().jsonPath()
                    .getList("$");
            events.stream().filter(e -> desktopId.equals(e.get("desktopId")))
                    .forEach(e -> found.add(e.get("kind") + " " + e.get("detail")));
            if (events.size() < 500) {
                break;
            }
        }
        return found;
    }

    private Optional<String> readyDesktop() {
        return Api.desktops(pool).stream().filter(d -> "READY".equals(d.get("state")))
                .map(d -> (String) d.get("id")).findFirst();
    }

    private String guestSecret(String vmRef) {
        return simulator.guestMetadata("sim-" + pool, vmRef).get(AgentSecrets.METADATA_KEY);
    }

    private JsonPath status() {
        return given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/" + pool + "/status").then().statusCode(200)
                .extract().jsonPath();
    }
}
