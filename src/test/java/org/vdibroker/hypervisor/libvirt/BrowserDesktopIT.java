package org.vdibroker.hypervisor.libvirt;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.libvirt.Connect;
import org.libvirt.StoragePool;
import org.openqa.selenium.By;
import org.vdibroker.testsupport.Browser;
import org.vdibroker.testsupport.DemoBrokerResource;
import org.vdibroker.testsupport.KeycloakServer;
import org.vdibroker.testsupport.KeycloakTestResource;
import org.vdibroker.testsupport.PortalClient;

/**
 * A real desktop in the browser: the packaged broker clones a tiny guest (a boot sector that prints a banner) on the
 * local libvirtd, demo signs in on Keycloak's page, connects and opens the desktop in the browser, and the noVNC
 * canvas shows the guest's banner (checked in its pixels, saved under target/screenshots/). The ticket the proxy
 * redeemed is refused the second time. Kiosk mode then goes straight to the same desktop and signs out when the
 * session ends. Needs libvirtd ({@code .ci/install-libvirt.sh}) and QEMU.
 */
@QuarkusIntegrationTest
// MATCHING_RESOURCES: the broker started for this class serves DemoWalkthroughIT too, the next class in Quarkus's
// order (by class name); this class retires its pool and hypervisor before it ends and DemoWalkthroughIT uses the
// demo pool only
@WithTestResource(value = KeycloakTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = DemoBrokerResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
class BrowserDesktopIT {

    private static final String LIBVIRT = "qemu:///system";
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final Path DIR = Path.of("/var/lib/libvirt/images/vdi-web-" + RUN);
    private static final Path BASE = DIR.resolve("base.img");
    private static final String BANNER = "vdi-broker test desktop";
    /** This run's pool: its VMs are named after it, so clean-up touches no other test's domains. */
    private static final String POOL = "web-" + RUN;

    private static Connect host;
    private static StoragePool storage;

    @BeforeAll
    static void template() throws Exception {
        boolean qemu = Stream.of("/usr/bin/qemu-system-x86_64", "/usr/libexec/qemu-kvm")
                .anyMatch(p -> Files.exists(Path.of(p)));
        if (!qemu && !Files.exists(Path.of("/dev/kvm"))) {
            Assumptions.abort("BrowserDesktopIT skipped: this host has neither /dev/kvm nor QEMU");
        }
        if (!Files.exists(Path.of("/var/run/libvirt/libvirt-sock"))) {
            throw new AssertionError("libvirtd is not running: run .ci/install-libvirt.sh first");
        }
        Files.createDirectories(DIR);
        Files.setPosixFilePermissions(DIR, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.write(BASE, LibvirtDesktopTest.bootDisk(BANNER));
        host = new Connect(LIBVIRT);
        storage = host.storagePoolCreateXML("<pool type='dir'><name>vdi-web-" + RUN + "</name><target><path>" + DIR
                + "</path></target></pool>", 0);
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (host == null) {
            return;
        }
        for (var d : host.listAllDomains(0)) {
            if (d.getName().startsWith(POOL + "-")) {
                if (d.isActive() == 1) {
                    d.destroy();
                }
                d.undefine();
            }
        }
        storage.destroy();
        try (Stream<Path> files = Files.list(DIR)) {
            files.forEach(f -> f.toFile().delete());
        }
        Files.deleteIfExists(DIR);
        host.close();
    }

    /** Runs while the broker is up (it is stopped before @AfterAll): shrinks the pool, deletes it and the host. */
    private static void retire(String admin) throws InterruptedException {
        // a desktop in use is never taken from its user: end the pool's sessions first
        List<String> sessions = given().auth().oauth2(admin).get("/api/v1/admin/sessions").then().extract().jsonPath()
                .getList("findAll { it.poolId == '" + POOL + "' }.id");
        sessions.forEach(id -> given().auth().oauth2(admin).post("/api/v1/admin/sessions/" + id + "/logoff"));
        Map<String, Object> empty = new HashMap<>(given().auth().oauth2(admin).get("/api/v1/admin/pools/" + POOL)
                .then().statusCode(200).extract().jsonPath().getMap("$"));
        empty.put("minSize", 0);
        empty.put("spare", 0);
        empty.put("maxSize", 0);
        empty.remove("groupStatus");
        empty.remove("createdAt");
        empty.remove("updatedAt");
        given().auth().oauth2(admin).contentType(ContentType.JSON).body(empty).put("/api/v1/admin/pools/" + POOL);
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline && !given().auth().oauth2(admin)
                .get("/api/v1/admin/pools/" + POOL + "/desktops").then().extract().jsonPath().getList("$").isEmpty()) {
            Thread.sleep(500);
        }
        given().auth().oauth2(admin).delete("/api/v1/admin/pools/" + POOL);
        given().auth().oauth2(admin).delete("/api/v1/admin/hypervisors/kvm-web");
    }

    @Test
    void demoOpensARealDesktopInTheBrowserAndKioskGoesStraightToIt() throws Exception {
        String base = "http://127.0.0.1:" + RestAssured.port;
        PortalClient.allowBrokerAt(RestAssured.port);
        String admin = KeycloakServer.passwordGrant("vdi-client", "deskadmin", "deskadmin");
        given().auth().oauth2(admin).contentType(ContentType.JSON)
                .body(Map.of("id", "kvm-web", "driver", "libvirt", "endpoint", LIBVIRT,
                        "config", Map.of("consoles", "vnc", "shutdownTimeoutMs", "2000"),
                        "capacity", Map.of("vcpus", 64, "memoryMb", 1_000_000, "maxDesktops", 1),
                        "concurrencyLimit", 2))
                .post("/api/v1/admin/hypervisors").then().statusCode(201);
        given().auth().oauth2(admin).contentType(ContentType.JSON)
                .body(Map.of("id", POOL, "displayName", "Browser desktops", "assignment", "floating",
                        "minSize", 1, "spare", 0, "maxSize", 1, "protocols", List.of("vnc"),
                        "desktop", Map.of("vcpus", 1, "memoryMb", 128),
                        "templates", List.of(Map.of("hypervisorId", "kvm-web", "templateRef", BASE.toString())),
                        "entitlements", Map.of("groups", List.of("/engineering"), "users", List.of())))
                .post("/api/v1/admin/pools").then().statusCode(201);
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(300).toNanos();
            while (given().auth().oauth2(admin).get("/api/v1/admin/pools/" + POOL + "/desktops").then().extract()
                    .jsonPath().getList("findAll { it.state == 'READY' }").isEmpty()) {
                assertThat(System.nanoTime()).as("a ready desktop on libvirt").isLessThan(deadline);
                Thread.sleep(500);
            }

            try (Browser browser = new Browser(1024, 768)) {
                browser.open(base + "/");
                browser.click(By.id("signin"));
                browser.keycloakLogin("demo", "demo");
                browser.click(By.cssSelector("[data-connect='" + POOL + "']"));
                browser.click(By.id("open-browser"));
                browser.until(Duration.ofSeconds(30),
                        d -> "true".equals(d.findElement(By.id("desktop")).getAttribute("data-connected")));
                BufferedImage screen = awaitBanner(browser);
                ImageIO.write(screen, "png", Files.createDirectories(Browser.SCREENSHOTS)
                        .resolve("desktop-canvas.png").toFile());
                browser.screenshot("desktop-in-browser");
                assertThat(banner(screen)).as("the guest's banner in the noVNC canvas, see target/screenshots/"
                        + "desktop-canvas.png").isTrue();
            }

            // a ticket opens the console once; the second use is refused
            String demo = KeycloakServer.passwordGrant("vdi-client", "demo", "demo");
            String sessionId = given().auth().oauth2(demo).get("/api/v1/me/sessions").then().statusCode(200).extract()
                    .path("find { it.poolId == '" + POOL + "' }.id");
            String ticket = given().auth().oauth2(demo).post("/api/v1/console/sessions/" + sessionId + "/ticket").then()
                    .statusCode(200).extract().path("ticket");
            WebSocket first = console(base, ticket);
            Throwable refused = catchThrowable(() -> console(base, ticket));
            WebSocketHandshakeException handshake = causes(refused)
                    .filter(WebSocketHandshakeException.class::isInstance)
                    .map(WebSocketHandshakeException.class::cast).findFirst()
                    .orElseThrow(() -> new AssertionError("the same ticket again was not refused", refused));
            assertThat(handshake.getResponse().statusCode()).as("the same ticket again").isEqualTo(403);
            first.abort();

            try (Browser kiosk = new Browser(1024, 768)) {
                kiosk.open(base + "/kiosk?pool=" + POOL);
                kiosk.keycloakLogin("demo", "demo");
                try {
                    kiosk.until(Duration.ofSeconds(60),
                            d -> "true".equals(d.findElement(By.id("desktop")).getAttribute("data-connected")));
                } catch (RuntimeException e) {
                    kiosk.screenshot("kiosk-failed");
                    throw new AssertionError("kiosk did not open the desktop; it says: "
                            + kiosk.driver().findElement(By.id("message")).getText() + " (" + kiosk.driver()
                            .getCurrentUrl() + "; target/screenshots/kiosk-failed.png)", e);
                }
                assertThat(banner(awaitBanner(kiosk))).isTrue();
                kiosk.screenshot("kiosk-desktop");
                // the session ends: the kiosk closes the desktop and signs out, back to Keycloak's login page
                given().auth().oauth2(demo).post("/api/v1/me/sessions/" + sessionId + "/logoff").then().statusCode(200);
                kiosk.await(By.id("username"), Duration.ofSeconds(60));
            }
    
        } finally {
            retire(admin);
        }
    }

    private static WebSocket console(String base, String ticket) {
        return HttpClient.newHttpClient().newWebSocketBuilder().header("Origin", base)
                .connectTimeout(Duration.ofSeconds(10))
                .buildAsync(URI.create(base.replace("http:", "ws:") + "/api/v1/console/websocket?ticket=" + ticket),
                        new WebSocket.Listener() {
                        })
                .orTimeout(15, TimeUnit.SECONDS).join();
    }

    private static Stream<Throwable> causes(Throwable t) {
        return Stream.iterate(t, java.util.Objects::nonNull, Throwable::getCause);
    }

    /** The canvas as shown, once the guest has drawn its banner (it may still be booting). */
    private static BufferedImage awaitBanner(Browser browser) throws Exception {
        BufferedImage image = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            image = ImageIO.read(new ByteArrayInputStream(browser.screenshotOf(By.cssSelector("#screen canvas"))));
            if (banner(image)) {
                return image;
            }
            Thread.sleep(500);
        }
        return image;
    }

    /**
     * The banner on an otherwise black screen: lit pixels in the top tenth and none below the top fifth, and the line
     * as wide as the banner's 23 characters of the 80 a text-mode row holds (not a cursor, not a full-width line).
     */
    static boolean banner(BufferedImage image) {
        int h = image.getHeight();
        if (lit(image, 0, h / 10) <= 100 || lit(image, h / 5, h) != 0) {
            return false;
        }
        int rightmost = 0;
        for (int y = 0; y < h / 10; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if (isLit(image.getRGB(x, y))) {
                    rightmost = Math.max(rightmost, x);
                }
            }
        }
        double width = (rightmost + 1) / (double) image.getWidth();
        double expected = BANNER.length() / 80.0;
        return width > expected - 0.04 && width < expected + 0.04;
    }

    private static boolean isLit(int argb) {
        int rgb = argb & 0xffffff;
        return ((rgb >> 16) & 0xff) + ((rgb >> 8) & 0xff) + (rgb & 0xff) > 120;
    }

    private static int lit(BufferedImage image, int fromY, int toY) {
        int lit = 0;
        for (int y = fromY; y < toY; y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if (isLit(image.getRGB(x, y))) {
                    lit++;
                }
            }
        }
        return lit;
    }
}
