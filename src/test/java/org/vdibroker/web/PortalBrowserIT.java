package org.vdibroker.web;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.vdibroker.testsupport.Browser;
import org.vdibroker.testsupport.DemoBrokerResource;
import org.vdibroker.testsupport.KeycloakServer;
import org.vdibroker.testsupport.KeycloakTestResource;
import org.vdibroker.testsupport.PortalClient;

/**
 * The portal and the admin console in Debian's Chromium against the packaged broker and the real Keycloak: users
 * sign in on Keycloak's own page (code flow with PKCE), see their pools, connect, download a connection file, log
 * off; a user without pools is told so; a user is refused the console; an admin creates a hypervisor and a pool that
 * a user then sees, and a queued user watches the queue turn into a desktop without reloading.
 */
@QuarkusIntegrationTest
@QuarkusTestResource(value = KeycloakTestResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = DemoBrokerResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = PortalBrowserIT.FastCharts.class, restrictToAnnotatedClass = true)
class PortalBrowserIT {

    /**
     * Chart samples every 2 s instead of 15 s: the charts test waits for two samples after a schedule change, which
     * took up to half a minute; what the charts show does not depend on the interval.
     */
    public static class FastCharts implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            return Map.of("broker.charts.sample-interval", "2s");
        }

        @Override
        public void stop() {
        }
    }

    private String base;

    @BeforeEach
    void allowRedirects() {
        base = "http://127.0.0.1:" + RestAssured.port;
        PortalClient.allowBrokerAt(RestAssured.port);
    }

    @Test
    void demoSignsInConnectsDownloadsAnRdpFileAndLogsOff() throws Exception {
        try (Browser browser = new Browser(1024, 768)) {
            browser.open(base + "/");
            browser.click(By.id("signin"));
            browser.keycloakLogin("demo", "demo");
            browser.await(By.cssSelector("[data-pool='demo']"), Duration.ofSeconds(60));
            assertThat(browser.driver().findElement(By.id("user")).getText()).contains("demo");
            browser.screenshot("portal-pools");

            browser.click(By.cssSelector("[data-connect='demo']"));
            browser.until(Duration.ofSeconds(60), d -> List.of("READY", "CONNECTED")
                    .contains(String.valueOf(d.findElement(By.id("progress-status")).getAttribute("data-state"))));
            assertThat(browser.driver().findElement(By.id("progress-status")).getText())
                    .isEqualTo("Your desktop is ready.");
            browser.await(By.id("download-vv"));
            browser.await(By.id("open-browser"));
            browser.screenshot("portal-ready");

            browser.click(By.id("download-rdp"));
            Path rdp = browser.awaitDownload(".rdp", Duration.ofSeconds(30));
            String content = Files.readString(rdp);
            assertThat(content).contains("full address:s:").contains("username:s:demo")
                    .contains("prompt for credentials:i:0");

            browser.await(By.cssSelector("#session-list [data-session]"));
            browser.click(By.id("logoff-current"));
            browser.until(Duration.ofSeconds(30),
                    d -> d.findElement(By.id("message")).getText().equals("You have been logged off."));
            browser.await(By.id("sessions-empty"));
            String demoToken = KeycloakServer.passwordGrant("vdi-client", "demo", "demo");
            assertThat(given().auth().oauth2(demoToken).get("/api/v1/me/sessions").then().statusCode(200)
                    .extract().jsonPath().getList("$")).isEmpty();

            browser.click(By.id("signout"));
            browser.await(By.id("signin"), Duration.ofSeconds(30));
        }
    }

    @Test
    void bobSeesNoPoolAndIsRefusedTheConsole() {
        try (Browser browser = new Browser(1024, 768)) {
            browser.open(base + "/");
            browser.click(By.id("signin"));
            browser.keycloakLogin("bob", "bob");
            assertThat(browser.await(By.id("pools-empty"), Duration.ofSeconds(60)).getText())
                    .isEqualTo("No desktops are assigned to you. Ask your administrator for access.");
            assertThat(browser.driver().findElements(By.cssSelector("[data-pool]"))).isEmpty();
            browser.screenshot("portal-no-pools");

            browser.open(base + "/admin");
            browser.click(By.id("signin"));
            // still signed in at Keycloak: it sends bob straight back
            browser.until(Duration.ofSeconds(30), d -> d.findElement(By.id("message")).getText()
                    .contains("does not have the vdi-admin role"));
            assertThat(browser.driver().findElement(By.id("console")).isDisplayed()).isFalse();
            browser.screenshot("admin-refused");
        }
        String bob = KeycloakServer.passwordGrant("vdi-client", "bob", "bob");
        given().auth().oauth2(bob).get("/api/v1/admin/drivers").then().statusCode(403);
        given().get("/api/v1/admin/drivers").then().statusCode(401);
    }

    @Test
    void anAdminCreatesAHypervisorAndAPoolThatBobThenSeesAndWaitsFor() {
        try (Browser admin = new Browser(1280, 900)) {
            admin.open(base + "/admin");
            admin.click(By.id("signin"));
            admin.keycloakLogin("deskadmin", "deskadmin");
            admin.await(By.id("hypervisor-form"), Duration.ofSeconds(60));
            admin.await(By.id("f-id")).sendKeys("sim-portal");
            new org.openqa.selenium.support.ui.Select(admin.driver().findElement(By.id("f-driver")))
                    .selectByValue("simulator");
            admin.driver().findElement(By.id("f-endpoint")).sendKeys("simulator://sim-portal");
            admin.driver().findElement(By.id("f-prop-cloneLatencyMs")).sendKeys("300");
            admin.click(By.id("hypervisor-save"));
            admin.until(Duration.ofSeconds(30), d -> d.findElement(By.id("view")).getText().contains("sim-portal"));

            admin.click(By.id("tab-pools"));
            admin.await(By.id("pool-form"));
            admin.driver().findElement(By.id("f-id")).sendKeys("sales");
            admin.driver().findElement(By.id("f-displayName")).sendKeys("Sales desktops");
            setValue(admin, "f-minSize", "0");
            setValue(admin, "f-spare", "0");
            setValue(admin, "f-maxSize", "1");
            new org.openqa.selenium.support.ui.Select(admin.driver().findElement(By.id("f-hypervisorId")))
                    .selectByValue("sim-portal");
            admin.driver().findElement(By.id("f-templateRef")).sendKeys("sales-template");
            admin.driver().findElement(By.id("f-groups")).sendKeys("/sales");
            admin.driver().findElement(By.id("f-users")).sendKeys("alice");
            admin.click(By.id("pool-save"));
            admin.until(Duration.ofSeconds(30), d -> d.findElement(By.id("view")).getText().contains("Sales desktops"));
            admin.screenshot("admin-pools");
        }

        // alice takes the pool's only desktop; bob queues behind her in the portal
        String alice = KeycloakServer.passwordGrant("vdi-client", "alice", "alice");
        String aliceSession = given().auth().oauth2(alice).contentType(ContentType.JSON).body("{}")
                .post("/api/v1/me/pools/sales/desktop").then().extract().path("id");
        awaitState(alice, aliceSession, "READY");

        try (Browser bob = new Browser(1024, 768)) {
            bob.open(base + "/");
            bob.click(By.id("signin"));
            bob.keycloakLogin("bob", "bob");
            bob.await(By.cssSelector("[data-pool='sales']"), Duration.ofSeconds(60));
            bob.click(By.cssSelector("[data-connect='sales']"));
            bob.until(Duration.ofSeconds(30), d -> "QUEUED".equals(
                    d.findElement(By.id("progress-status")).getAttribute("data-state")));
            assertThat(bob.driver().findElement(By.id("progress-status")).getText())
                    .matches("You are number 1 in line, about \\d+ s to wait\\.");
            bob.screenshot("portal-queued");

            given().auth().oauth2(alice).post("/api/v1/me/sessions/" + aliceSession + "/logoff").then()
                    .statusCode(200);
            // the page follows the session's events: no reload
            bob.until(Duration.ofSeconds(60), d -> "READY".equals(
                    d.findElement(By.id("progress-status")).getAttribute("data-state")));
            assertThat(bob.driver().findElement(By.id("progress-status")).getText())
                    .isEqualTo("Your desktop is ready.");
            bob.screenshot("portal-queue-ready");
        }
    }

    @Test
    void anAdminEditsAPoolsScheduleAndSeesItInTheChartsAndTheNodes() {
        String admin = KeycloakServer.passwordGrant("vdi-client", "deskadmin", "deskadmin");
        given().auth().oauth2(admin).contentType(ContentType.JSON)
                .body(Map.of("id", "charted", "displayName", "Charted desktops", "assignment", "floating",
                        "minSize", 0, "spare", 1, "maxSize", 3, "protocols", List.of("rdp"),
                        "desktop", Map.of("vcpus", 1, "memoryMb", 512),
                        "templates", List.of(Map.of("hypervisorId", "simulator-1", "templateRef", "charted")),
                        "entitlements", Map.of("groups", List.of(), "users", List.of("alice"))))
                .post("/api/v1/admin/pools").then().statusCode(201);
        // one desktop assigned, so the time-to-desktop chart has a bar
        String alice = KeycloakServer.passwordGrant("vdi-client", "alice", "alice");
        String session = given().auth().oauth2(alice).contentType(ContentType.JSON).body("{}")
                .post("/api/v1/me/pools/charted/desktop").then().extract().path("id");
        awaitState(alice, session, "READY");

        try (Browser browser = new Browser(1280, 900)) {
            browser.open(base + "/admin");
            browser.click(By.id("signin"));
            browser.keycloakLogin("deskadmin", "deskadmin");
            browser.await(By.id("tab-pools"), Duration.ofSeconds(60));
            browser.click(By.id("tab-pools"));
            browser.click(By.cssSelector("[data-edit='charted']"));
            setValue(browser, "f-timeZone", "Europe/Berlin");
            // a window the broker refuses (ends before it starts): the admin reads why, nothing is saved
            browser.click(By.id("schedule-add"));
            setValue(browser, "f-sched-0-from", "10:00");
            setValue(browser, "f-sched-0-to", "09:00");
            browser.click(By.id("pool-save"));
            browser.until(Duration.ofSeconds(30), d -> d.findElement(By.id("message")).getText()
                    .contains("schedules[0]"));
            // every day, all day: the spare target becomes 2
            for (String day : List.of("SAT", "SUN")) {
                browser.click(By.id("f-sched-0-" + day));
            }
            setValue(browser, "f-sched-0-from", "00:00");
            setValue(browser, "f-sched-0-to", "24:00");
            setValue(browser, "f-sched-0-spare", "2");
            browser.screenshot("admin-schedules");
            browser.click(By.id("pool-save"));
            browser.until(Duration.ofSeconds(30), d -> d.findElement(By.id("message")).getText().equals("Saved."));
            Map<String, Object> saved = given().auth().oauth2(admin).get("/api/v1/admin/pools/charted").then()
                    .statusCode(200).extract().jsonPath().getMap("$");
            assertThat(saved.get("timeZone")).isEqualTo("Europe/Berlin");
            assertThat(saved.get("schedules")).isEqualTo(List.of(Map.of("days",
                    List.of("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"), "from", "00:00", "to", "24:00",
                    "spare", 2)));
            // editing again shows the saved window
            browser.click(By.cssSelector("[data-edit='charted']"));
            assertThat(browser.await(By.id("f-sched-0-spare")).getAttribute("value")).isEqualTo("2");
            assertThat(browser.driver().findElement(By.id("f-sched-0-SUN")).isSelected()).isTrue();

            // the charts: the target line reaches the schedule's 2, the ready line follows; alice's wait is counted
            browser.click(By.id("tab-charts"));
            // the tab redraws itself every 10 s (and on Refresh): read every figure of one drawing at once
            ChartFigures figures = browser.until(Duration.ofSeconds(90), d -> {
                try {
                    var target = d.findElement(By.cssSelector("#chart-spares-charted polyline[data-series='target']"));
                    var ready = d.findElement(By.cssSelector("#chart-spares-charted polyline[data-series='ready']"));
                    ChartFigures f = new ChartFigures(target.getAttribute("data-last"), ready.getAttribute("data-last"),
                            Integer.parseInt(ready.getAttribute("data-samples")),
                            d.findElement(By.id("chart-ttd-charted")).getAttribute("data-count"),
                            d.findElement(By.cssSelector("[data-pool='charted'] .chart-ttd-summary")).getText(),
                            d.findElement(By.cssSelector("#chart-queue-charted polyline")).getAttribute("data-last"),
                            d.findElements(By.cssSelector("#chart-ttd-time-charted circle")).size());
                    if ("2".equals(f.target()) && "2".equals(f.ready())) {
                        return f;
                    }
                    d.findElement(By.id("chart-refresh")).click();
                    return null;
                } catch (org.openqa.selenium.StaleElementReferenceException | NumberFormatException e) {
                    return null; // redrawn while being read: read the next drawing
                }
            });
            assertThat(figures.readySamples()).as("samples on the ready line").isGreaterThan(1);
            assertThat(figures.waits()).as("desktops assigned in the time-to-desktop chart").isEqualTo("1");
            assertThat(figures.waitSummary()).startsWith("1 desktop(s) assigned");
            assertThat(figures.queue()).isEqualTo("0");
            assertThat(figures.waitDots()).as("alice's wait as a dot over time").isEqualTo(1);
            browser.screenshot("admin-charts");

            browser.click(By.id("tab-nodes"));
            assertThat(browser.await(By.id("node-count")).getText()).isEqualTo("The cluster has 1 member(s).");
            assertThat(browser.driver().findElement(By.id("view")).getText()).contains("this node");
            // readiness comes through the admin API: the browser cannot reach the management port
            assertThat(browser.driver().findElement(By.id("node-ready")).getText()).endsWith(": UP");
            browser.screenshot("admin-nodes");
        } finally {
            given().auth().oauth2(alice).post("/api/v1/me/sessions/" + session + "/logoff");
        }
    }

    /** What one drawing of a pool's charts shows. */
    private record ChartFigures(String target, String ready, int readySamples, String waits, String waitSummary,
            String queue, int waitDots) {
    }

    private static void setValue(Browser b, String id, String value) {
        var input = b.driver().findElement(By.id(id));
        input.clear();
        input.sendKeys(value);
    }

    private static void awaitState(String token, String sessionId, String state) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            Map<String, Object> s = given().auth().oauth2(token).get("/api/v1/me/sessions/" + sessionId).then()
                    .statusCode(200).extract().jsonPath().getMap("$");
            if (state.equals(s.get("state"))) {
                return;
            }
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new AssertionError("session " + sessionId + " never " + state);
    }
}
