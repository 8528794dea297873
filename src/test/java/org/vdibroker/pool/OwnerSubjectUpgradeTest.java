package org.vdibroker.pool;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.scheduler.Scheduler;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.desktop.DesktopEntity;
import org.vdibroker.desktop.DesktopState;
import org.vdibroker.persistence.Database;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * Dedicated owners after the upgrade that keyed ownership by the token's {@code sub} (V71): rows of desktops
 * assigned before have the owner's name and no subject. The restart is played as in RebuildTest.
 */
@QuarkusTest
class OwnerSubjectUpgradeTest {

    @Inject
    Scheduler scheduler;

    @Inject
    EmbeddedCacheManager caches;

    @Inject
    Reconciler reconciler;

    @Inject
    Database database;

    /**
     * An installation upgraded from a broker that kept owners by name: the inventory row has the name and no subject.
     * After a whole-cluster restart (live state rebuilt from that row) the first sign-in of the name keeps the
     * desktop and binds it to its subject, in the live state and in the row; another subject with the same name then
     * does not get it.
     */
    @Test
    void anOwnerKnownOnlyByNameIsBoundToTheFirstSubjectThatSignsIn() {
        String frank = Tokens.userWithSubject("frank-u", "sub-frank-1", "/engineering");
        String twin = Tokens.userWithSubject("frank-u", "sub-frank-2", "/engineering");
        Api.simulator("sim-upgrade", 10, 50, 50);
        Api.createPool(Api.pool("upgrade-own", "dedicated", 1, 0, 1, "sim-upgrade", List.of("/engineering")));
        await("a ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("upgrade-own", "READY") == 1);
        String desktopId = (String) Api.desktops("upgrade-own").get(0).get("id");
        await("its inventory row", Duration.ofSeconds(10), () -> row(desktopId) != null);

        // the row as the V71 migration leaves a dedicated desktop assigned before: owner by name, no subject
        QuarkusTransaction.requiringNew().run(() -> {
            DesktopEntity e = database.session().find(DesktopEntity.class, desktopId);
            e.owner = "frank-u";
            e.ownerSub = null;
        });
        scheduler.pause();
        try {
            PoolSizingTest.sleep(1500); // a tick under way finishes
            Cache<String, DesktopState> desktops = caches.getCache(CacheNames.DESKTOPS);
            desktops.remove(desktopId);
            reconciler.forget();
        } finally {
            scheduler.resume();
        }
        await("the desktop rebuilt for its owner known by name", Duration.ofSeconds(20),
                () -> Api.desktops("upgrade-own").stream().anyMatch(d -> desktopId.equals(d.get("id"))
                        && "ASSIGNED".equals(d.get("state"))));
        assertThat(Api.desktop("upgrade-own", desktopId)).containsEntry("owner", "frank-u")
                .doesNotContainKey("ownerSubject");

        JsonPath first = Api.requestDesktop(frank, "upgrade-own").then().statusCode(200).extract().jsonPath();
        assertThat(first.getString("desktopId")).as("the first sign-in of the name keeps it").isEqualTo(desktopId);
        assertThat(Api.desktop("upgrade-own", desktopId).get("ownerSubject")).isEqualTo("sub-frank-1");
        await("the binding written to the inventory", Duration.ofSeconds(10),
                () -> "sub-frank-1".equals(row(desktopId).ownerSub));
        given().auth().oauth2(frank).post("/api/v1/me/sessions/" + first.getString("id") + "/logoff").then()
                .statusCode(200);

        Response other = Api.requestDesktop(twin, "upgrade-own");
        other.then().statusCode(202).body("state", equalTo("QUEUED"));
        assertThat(Api.desktop("upgrade-own", desktopId).get("sessionId")).isNull();
        given().auth().oauth2(twin).post("/api/v1/me/sessions/" + other.jsonPath().getString("id") + "/logoff")
                .then().statusCode(200);
        assertThat(Api.requestDesktop(frank, "upgrade-own").then().statusCode(200).extract().jsonPath()
                .getString("desktopId")).isEqualTo(desktopId);
    }

    private DesktopEntity row(String desktopId) {
        return QuarkusTransaction.requiringNew().call(() -> {
            DesktopEntity e = database.session().find(DesktopEntity.class, desktopId);
            if (e != null) {
                database.session().detach(e);
            }
            return e;
        });
    }
}
