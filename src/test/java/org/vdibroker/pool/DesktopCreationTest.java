package org.vdibroker.pool;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;

/**
 * A tick's new desktops are placed together and created side by side (DesktopCreation): the desktops placed in one
 * round count against their host's room, concurrency limit and back-off as if each had been created before the next
 * was placed, and so do those of earlier rounds still being created.
 */
@QuarkusTest
class DesktopCreationTest {

    @Inject
    PoolCatalog catalog;
    @Inject
    Placement placement;
    @Inject
    ProvisionBackoff backoff;
    @Inject
    DesktopCreation creation;

    @Test
    void aRoundCountsItsDesktopsAgainstEachHostsRoomAndConcurrencyLimit() {
        Api.simulator("sim-round-room", 3, 100, 50); // room for 3 desktops
        Api.simulator("sim-round-busy", 100, 100, 50, 2); // 2 operations at a time
        Api.createPool(twoHostPool("round", "sim-round-room", "sim-round-busy"));
        Pool pool = catalog.get("round").orElseThrow();

        Map<String, Long> placed = placeAll(placement.round(pool));
        assertThat(placed).as("desktops placed per host in one round").isEqualTo(Map.of("sim-round-room", 3L,
                "sim-round-busy", 2L));
    }

    /** A round's creations issued side by side, failing one after another, are one failure of the template. */
    @Test
    void failuresOfProvisionsIssuedTogetherCountOnce() {
        Instant issued = Instant.now();
        assertThat(backoff.failed("burst", "sim-burst", issued).failures()).isEqualTo(1);
        ProvisionBackoff.Failing sameBurst = backoff.failed("burst", "sim-burst", issued);
        assertThat(sameBurst.failures()).as("issued before the first failure was known").isEqualTo(1);
        // the trial issued after it is a failure of its own, and doubles the wait
        ProvisionBackoff.Failing trial = backoff.failed("burst", "sim-burst", sameBurst.lastFailedAt());
        assertThat(trial.failures()).isEqualTo(2);
        assertThat(trial.nextAttemptAt()).isAfter(sameBurst.nextAttemptAt());
        backoff.succeeded("burst", "sim-burst");
        assertThat(backoff.failing("burst", "sim-burst")).isFalse();
    }

    @Test
    void aRoundGivesAFailingTemplateOneTrial() {
        Api.simulator("sim-round-failing", 100, 100, 50);
        Api.createPool(Api.pool("round-failing", "floating", 0, 0, 10, "sim-round-failing", List.of("/engineering")));
        Pool pool = catalog.get("round-failing").orElseThrow();
        backoff.failed("round-failing", "sim-round-failing", Instant.now());
        await("the back-off lets a trial through", Duration.ofSeconds(10),
                () -> backoff.allows("round-failing", "sim-round-failing"));

        assertThat(placeAll(placement.round(pool))).isEqualTo(Map.of("sim-round-failing", 1L));
        backoff.succeeded("round-failing", "sim-round-failing");
        // placement fills the host's room (100 desktops); the pool manager asks for no more than the pool wants
        assertThat(placeAll(placement.round(pool))).isEqualTo(Map.of("sim-round-failing", 100L));
    }

    @Test
    void aPoolLargerThanItsHostGetsWhatFitsWithoutRefusedProvisions() {
        Api.simulator("sim-wave-room", 3, 100, 50);
        Api.createPool(Api.pool("wave-room", "floating", 6, 0, 6, "sim-wave-room", List.of("/engineering")));
        await("3 desktops ready", Duration.ofSeconds(30), () -> Api.desktopsIn("wave-room", "READY") == 3);
        await("the pool reports no room", Duration.ofSeconds(30),
                () -> "no-capacity".equals(status("wave-room").get("kind")));
        assertThat(Api.desktops("wave-room")).hasSize(3);
        // a wave placed past the host's room would have had provisions refused, and the template backed off
        assertThat(backoff.failing("wave-room", "sim-wave-room")).as("template backing off").isFalse();
    }

    @Test
    void aPoolsDesktopsAreCreatedSideBySideAndAllOfThemAreMade() throws Exception {
        Api.simulator("sim-wave-direct", 100, 100, 50);
        Pool pool = disabledPool("wave-direct", "sim-wave-direct", 40);

        Map<String, Instant> told = new ConcurrentHashMap<>();
        Map<String, Instant> made = creation.create(pool, 20, told::put).get(60, TimeUnit.SECONDS);
        assertThat(made).hasSize(20);
        assertThat(told).as("each desktop made is told as it is made").isEqualTo(made);
        assertThat(Api.desktops("wave-direct")).extracting(d -> d.get("id"))
                .containsExactlyInAnyOrderElementsOf(made.keySet());
        await("the index counts them, and the creation no longer does", Duration.ofSeconds(10),
                () -> creation.placed("wave-direct") == 0);
        // the pool's status counts them by state from the node's index, as the list shows them (both read again
        // until they agree: the desktops move on meanwhile)
        Api.await("the status counts every desktop", java.time.Duration.ofSeconds(10), () -> {
            Map<String, Long> listed = Api.desktops("wave-direct").stream()
                    .collect(Collectors.groupingBy(d -> (String) d.get("state"), Collectors.counting()));
            Map<String, Long> counted = given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/wave-direct/status")
                    .then().statusCode(200).extract().jsonPath().<String, Number>getMap("desktops").entrySet()
                    .stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().longValue()));
            return listed.values().stream().mapToLong(Long::longValue).sum() == 20 && listed.equals(counted);
        });
    }

    /**
     * The caller does not wait for its creations, so the next tick places again while they are made: the ones still
     * being created count against their host's room (and their pool's size) until the desktops' states show them.
     */
    @Test
    void desktopsStillBeingCreatedCountAgainstTheirHostsRoom() throws Exception {
        Api.simulator("sim-wave-busy", 3, 100, 50); // room for 3 desktops
        Pool pool = disabledPool("wave-busy", "sim-wave-busy", 10);

        CompletableFuture<Map<String, Instant>> first = creation.create(pool, 5, (id, at) -> { });
        CompletableFuture<Map<String, Instant>> second = creation.create(pool, 5, (id, at) -> { });
        int made = first.get(60, TimeUnit.SECONDS).size() + second.get(60, TimeUnit.SECONDS).size();
        assertThat(made).as("desktops made by both rounds").isEqualTo(3);
        assertThat(Api.desktops("wave-busy")).hasSize(3);
        // a round that placed past the room would have had provisions refused, and the template backed off
        assertThat(backoff.failing("wave-busy", "sim-wave-busy")).as("template backing off").isFalse();
    }

    /** A pool the pool manager leaves alone (it makes none of its own, and retires none of the test's). */
    private Pool disabledPool(String id, String hypervisorId, int max) {
        Map<String, Object> definition = new HashMap<>(Api.pool(id, "floating", 0, 0, max, hypervisorId,
                List.of("/engineering")));
        definition.put("enabled", false);
        Api.createPool(definition);
        return catalog.get(id).orElseThrow();
    }

    private static Map<String, Long> placeAll(Placement.Round round) {
        List<String> hosts = new java.util.ArrayList<>();
        for (Optional<Pool.Template> t = round.choose(); t.isPresent(); t = round.choose()) {
            hosts.add(t.get().hypervisorId());
            assertThat(hosts).as("placements in one round").hasSizeLessThanOrEqualTo(1000);
        }
        return hosts.stream().collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
    }

    private static Map<String, Object> twoHostPool(String id, String first, String second) {
        Map<String, Object> pool = new HashMap<>(Api.pool(id, "floating", 0, 0, 100, first, List.of("/engineering")));
        pool.put("templates", List.of(Map.of("hypervisorId", first, "templateRef", "tmpl-" + id),
                Map.of("hypervisorId", second, "templateRef", "tmpl-" + id)));
        return pool;
    }

    private static Map<String, Object> status(String poolId) {
        Map<String, Object> problem = given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/" + poolId
                + "/status").then().statusCode(200).extract().jsonPath().getMap("problem");
        return problem == null ? Map.of() : problem;
    }
}
