package org.vdibroker.pool;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.HypervisorRegistry;
import org.vdibroker.hypervisor.VmInfo;
import org.vdibroker.hypervisor.simulator.SimulatorControl;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/** Drift between the hypervisor and the broker's view is repaired: vanished VMs, unknown VMs, powered-off VMs. */
@QuarkusTest
class ReconcilerTest {

    @Inject
    SimulatorControl simulator;

    @Inject
    HypervisorRegistry hypervisors;

    @Inject
    DesktopCreation creation;

    @Test
    void vmDeletedBehindTheBrokersBackIsReplacedAndItsUserTold() {
        Api.simulator("sim-vanish", 10, 50, 50);
        Api.createPool(Api.pool("vanish", "floating", 2, 0, 2, "sim-vanish", List.of("/engineering")));
        await("2 ready desktops", Duration.ofSeconds(30), () -> Api.desktopsIn("vanish", "READY") == 2);

        String user = Tokens.user("vanish-user", "/engineering");
        JsonPath got = Api.requestDesktop(user, "vanish").then().statusCode(200).extract().jsonPath();
        String desktopId = got.getString("desktopId");
        String sessionId = got.getString("id");
        String vmRef = (String) Api.desktop("vanish", desktopId).get("vmRef");

        assertThat(simulator.deleteVmBehindBrokersBack("sim-vanish", vmRef)).isTrue();

        await("the user's session ended", Duration.ofSeconds(15), () -> "ENDED".equals(session(user, sessionId)
                .getString("state")));
        assertThat(session(user, sessionId).getString("endReason")).isEqualTo("desktop-lost");
        await("a replacement", Duration.ofSeconds(15), () -> Api.desktops("vanish").size() == 2
                && Api.desktopsIn("vanish", "READY") == 2
                && Api.desktops("vanish").stream().noneMatch(d -> desktopId.equals(d.get("id"))));
        // asking again gets another desktop at once
        String again = Api.requestDesktop(user, "vanish").then().statusCode(200).extract().jsonPath()
                .getString("desktopId");
        assertThat(again).isNotEqualTo(desktopId);
    }

    @Test
    void unknownVmWithThePoolsNamingIsAdoptedWhenThePoolSaysSo() {
        Api.createPool(onSimulatorOfItsOwn("sim-adopt", "adopt", 1, 3, "adopt"));
        await("1 ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("adopt", "READY") == 1);

        String vmRef = simulator.createVm("sim-adopt", "adopt-0123abcd");
        String stranger = simulator.createVm("sim-adopt", "adopt-by-hand");

        await("the VM adopted and ready", Duration.ofSeconds(15), () -> Api.desktops("adopt").stream()
                .anyMatch(d -> vmRef.equals(d.get("vmRef")) && "READY".equals(d.get("state"))));
        assertThat(Api.desktops("adopt")).noneMatch(d -> stranger.equals(d.get("vmRef")));
        // the adopted desktop counts towards the pool's size: the pool shrinks back to its target of 1
        await("the pool back at its size", Duration.ofSeconds(15), () -> Api.desktops("adopt").size() == 1);
        assertThat(vms("sim-adopt", "adopt-")).extracting(VmInfo::vmRef).contains(stranger);
        assertThat(given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/adopt").then().statusCode(200)
                .extract().jsonPath().getString("unknownVms")).isEqualTo("adopt");
    }

    @Test
    void unknownVmIsRetiredOrIgnoredAsThePoolSays() {
        Api.createPool(onSimulatorOfItsOwn("sim-retire", "retire", 0, 2, "retire"));
        Api.createPool(Api.pool("ignore", "floating", 0, 0, 2, "sim-retire", List.of("/engineering")));
        assertThat(given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/ignore").then().extract().jsonPath()
                .getString("unknownVms")).as("the default").isEqualTo("ignore");

        String doomed = simulator.createVm("sim-retire", "retire-feedbeef");
        String ignored = simulator.createVm("sim-retire", "ignore-feedbeef");
        String notThePools = simulator.createVm("sim-retire", "retire-notmine1");

        await("the unknown VM retired", Duration.ofSeconds(15),
                () -> vms("sim-retire", "retire-").stream().noneMatch(vm -> doomed.equals(vm.vmRef())));
        // two more reconcile rounds (2 s apart in tests): the others are still there and nothing was adopted
        PoolSizingTest.sleep(4500);
        assertThat(vms("sim-retire", "")).extracting(VmInfo::vmRef).contains(ignored, notThePools);
        assertThat(Api.desktops("retire")).isEmpty();
        assertThat(Api.desktops("ignore")).isEmpty();
    }

    /**
     * A VM whose desktop this node is still making (its provision call runs, or the desktop is written but not yet
     * in the index, and its inventory row still in the outbox) is not unknown: a pool that retires unknown VMs leaves
     * it alone; once nobody makes it, it is unknown.
     */
    @Test
    void aVmWhoseDesktopIsBeingMadeIsNotRetiredAsUnknown() {
        Api.createPool(onSimulatorOfItsOwn("sim-making", "making", 0, 2, "retire"));
        creation.naming.add("making-c0ffee00");
        try {
            String vm = simulator.createVm("sim-making", "making-c0ffee00");
            PoolSizingTest.sleep(6000); // three reconcile rounds (2 s apart in tests)
            assertThat(vms("sim-making", "making-")).extracting(VmInfo::vmRef).as("still being made").contains(vm);
            creation.naming.remove("making-c0ffee00");
            await("retired once nobody makes it", Duration.ofSeconds(15),
                    () -> vms("sim-making", "making-").stream().noneMatch(v -> vm.equals(v.vmRef())));
        } finally {
            creation.naming.remove("making-c0ffee00");
        }
    }

    /**
     * A provision whose answer never came (the VM made, its caller told nothing): the VM becomes a desktop of the
     * pool, rebuilt from the inventory row the creation kept, instead of an unknown VM that the pool (ignoring unknown
     * VMs, the default) would leave holding a place on the host for good. The host has room for two desktops only.
     */
    @Test
    void aVmWhoseProvisionAnswerWasLostBecomesADesktop() {
        Api.simulator("sim-lost-answer", 2, 50, 50);
        simulator.loseNextProvisionAnswers("sim-lost-answer", 1);
        Api.createPool(Api.pool("lost-answer", "floating", 2, 0, 2, "sim-lost-answer", List.of("/engineering")));

        await("2 ready desktops on a host with room for 2", Duration.ofSeconds(30),
                () -> Api.desktopsIn("lost-answer", "READY") == 2);
        assertThat(vms("sim-lost-answer", "lost-answer-")).extracting(VmInfo::vmRef).as("no VM left over")
                .containsExactlyInAnyOrderElementsOf(Api.desktops("lost-answer").stream()
                        .map(d -> (String) d.get("vmRef")).toList());
    }

    @Test
    void unknownVmsSettingIsValidated() {
        Map<String, Object> pool = onSimulatorOfItsOwn("sim-bad-unknown", "bad-unknown", 0, 1, "destroy");
        String problem = given().auth().oauth2(Api.ADMIN).contentType(ContentType.JSON).body(pool)
                .post("/api/v1/admin/pools").then().statusCode(400).contentType("application/problem+json")
                .extract().asString();
        assertThat(problem).contains("unknownVms");
    }

    @Test
    void vmPoweredOffBehindTheBrokersBackIsStartedAgain() throws Exception {
        Api.simulator("sim-poweroff", 10, 50, 300);
        Api.createPool(Api.pool("poweroff", "floating", 1, 0, 1, "sim-poweroff", List.of("/engineering")));
        await("1 ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("poweroff", "READY") == 1);
        Map<String, Object> desktop = Api.desktops("poweroff").get(0);
        String vmRef = (String) desktop.get("vmRef");

        hypervisors.driver("sim-poweroff").orElseThrow().powerOff(vmRef).toCompletableFuture().get();
        assertThat(power("sim-poweroff", vmRef)).isEqualTo(VmInfo.PowerState.STOPPED);

        await("powered on again by the reconciler", Duration.ofSeconds(15),
                () -> power("sim-poweroff", vmRef) == VmInfo.PowerState.RUNNING
                        && "READY".equals(Api.desktop("poweroff", (String) desktop.get("id")).get("state")));
        assertThat(Api.desktops("poweroff")).hasSize(1);
    }

    private static JsonPath session(String token, String sessionId) {
        return given().auth().oauth2(token).get("/api/v1/me/sessions/" + sessionId).then().statusCode(200)
                .extract().jsonPath();
    }

    private List<VmInfo> vms(String hypervisorId, String prefix) {
        try {
            return hypervisors.driver(hypervisorId).orElseThrow().listVms(prefix).toCompletableFuture().get();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private VmInfo.PowerState power(String hypervisorId, String vmRef) {
        return vms(hypervisorId, "").stream().filter(vm -> vm.vmRef().equals(vmRef)).findFirst()
                .map(VmInfo::power).orElse(null);
    }

    /**
     * A floating pool for engineering with no spare desktops, on a simulator made for it, that treats unknown VMs as
     * {@code unknownVms} says.
     */
    private static Map<String, Object> onSimulatorOfItsOwn(String simulatorId, String poolId, int min, int max,
            String unknownVms) {
        Api.simulator(simulatorId, 10, 50, 50);
        Map<String, Object> pool = new HashMap<>(Api.pool(poolId, "floating", min, 0, max, simulatorId,
                List.of("/engineering")));
        pool.put("unknownVms", unknownVms);
        return pool;
    }
}
