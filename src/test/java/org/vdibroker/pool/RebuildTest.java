package org.vdibroker.pool;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.scheduler.Scheduler;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.desktop.DesktopEntity;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.hypervisor.HypervisorRegistry;
import org.vdibroker.persistence.Database;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * After a whole-cluster restart the live state is empty while the database inventory and the hypervisors still know
 * the desktops: they are rebuilt rather than provisioned anew. The restart is played by pausing the scheduler,
 * removing the pools' live entries and letting the reconciler forget it ever ran, as a freshly started node would.
 */
@QuarkusTest
class RebuildTest {

    @Inject
    Scheduler scheduler;

    @Inject
    EmbeddedCacheManager caches;

    @Inject
    Reconciler reconciler;

    @Inject
    Database database;

    @Inject
    HypervisorRegistry hypervisors;

    @Test
    void desktopsComeBackFromTheInventoryAndTheHypervisor() throws Exception {
        Api.simulator("sim-rebuild", 10, 200, 50);
        Api.createPool(Api.pool("rebuild", "floating", 2, 0, 2, "sim-rebuild", List.of("/engineering")));
        Api.createPool(Api.pool("rebuild-own", "dedicated", 1, 0, 2, "sim-rebuild", List.of("/engineering")));
        await("desktops ready", Duration.ofSeconds(30), () -> Api.desktopsIn("rebuild", "READY") == 2
                && Api.desktopsIn("rebuild-own", "READY") == 1);
        String owner = Tokens.user("rebuild-owner", "/engineering");
        JsonPath mine = Api.requestDesktop(owner, "rebuild-own").then().statusCode(200).extract().jsonPath();
        String ownDesktop = mine.getString("desktopId");
        given().auth().oauth2(owner).post("/api/v1/me/sessions/" + mine.getString("id") + "/logoff").then()
                .statusCode(200);
        recordOwner(ownDesktop, "rebuild-owner");
        await("pools settled", Duration.ofSeconds(30), () -> Api.desktopsIn("rebuild", "READY") == 2
                && Api.desktops("rebuild-own").size() == 1);
        Map<String, Object> vmRefs = vmRefsById("rebuild");
        Map<String, Object> ownVmRefs = vmRefsById("rebuild-own");
        int vmsBefore = hypervisors.driver("sim-rebuild").orElseThrow().listVms("").toCompletableFuture().get()
                .size();

        scheduler.pause();
        try {
            PoolSizingTest.sleep(1500); // a tick under way finishes
            forgetLiveState("rebuild", "rebuild-own");
            reconciler.forget();
            assertThat(Api.desktops("rebuild")).isEmpty();
        } finally {
            scheduler.resume();
        }

        // floating desktops are refreshed first (nobody knows who used them last), then ready again
        await("the floating desktops rebuilt and ready", Duration.ofSeconds(20),
                () -> Api.desktopsIn("rebuild", "READY") == 2);
        assertThat(vmRefsById("rebuild")).isEqualTo(vmRefs);
        await("the dedicated desktop back with its owner", Duration.ofSeconds(10),
                () -> "ASSIGNED".equals(Api.desktop("rebuild-own", ownDesktop).get("state")));
        assertThat(Api.desktop("rebuild-own", ownDesktop).get("owner")).isEqualTo("rebuild-owner");
        assertThat(vmRefsById("rebuild-own")).isEqualTo(ownVmRefs);
        assertThat(hypervisors.driver("sim-rebuild").orElseThrow().listVms("").toCompletableFuture().get())
                .as("no VM provisioned anew").hasSize(vmsBefore);
        // the owner gets their own desktop back
        assertThat(Api.requestDesktop(owner, "rebuild-own").then().statusCode(200).extract().jsonPath()
                .getString("desktopId")).isEqualTo(ownDesktop);
    }

    /** The owner column as the pool manager will write it for dedicated desktops. */
    private void recordOwner(String desktopId, String owner) {
        QuarkusTransaction.requiringNew().run(() -> database.session().find(DesktopEntity.class, desktopId).owner =
                owner);
    }

    private void forgetLiveState(String... poolIds) {
        Cache<String, DesktopState> desktops = caches.getCache(CacheNames.DESKTOPS);
        Cache<String, String> owners = caches.getCache(CacheNames.DESKTOP_OWNERS);
        List<String> pools = List.of(poolIds);
        for (DesktopState d : List.copyOf(desktops.values())) {
            if (pools.contains(d.poolId())) {
                desktops.remove(d.id());
            }
        }
        for (String key : List.copyOf(owners.keySet())) {
            if (pools.stream().anyMatch(p -> key.startsWith(p + "|"))) {
                owners.remove(key);
            }
        }
    }

    private static Map<String, Object> vmRefsById(String poolId) {
        return Api.desktops(poolId).stream().collect(Collectors.toMap(d -> (String) d.get("id"), d -> d.get("vmRef")));
    }
}
