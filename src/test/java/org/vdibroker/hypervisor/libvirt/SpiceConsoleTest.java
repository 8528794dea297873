package org.vdibroker.hypervisor.libvirt;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.ADMIN;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.StoragePool;
import org.vdibroker.testsupport.SharedOverridesProfile;
import org.vdibroker.testsupport.Tokens;

/**
 * SPICE and VNC consoles of a real QEMU guest as a user opens them: Debian's remote-viewer, under Xvfb, opens the
 * {@code .vv} file the broker hands out. A SPICE client links several channels with one ticket; the display channel
 * must come up every time, also while another guest boots on the same host, and the same file must not open the
 * console again once its grace is over. The same session then gets VNC on request, and the protocol errors have
 * their own problem types. Needs libvirtd ({@code .ci/install-libvirt.sh}) and remote-viewer + Xvfb
 * ({@code .ci/install-viewer.sh}).
 */
@QuarkusTest
// SharedOverridesProfile: tickets long enough for a viewer on a busy 2-core host without KVM, and libvirt calls of
// up to 15 s (the test profile's 2 s is too short for libvirt on a loaded host)
@TestProfile(SharedOverridesProfile.class)
class SpiceConsoleTest {

    private static final String URI = "qemu:///system";
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String HYPERVISOR = "spice-" + RUN;
    private static final String POOL = "spice" + RUN;
    private static final String NEIGHBOUR = "vdi-spice-neighbour-" + RUN;
    private static final Path DIR = Path.of("/var/lib/libvirt/images/vdi-spice-" + RUN);
    private static final Path BASE = DIR.resolve("base.img");
    private static final Path LOGS = Path.of("target", "spice-console");
    private static final long GRACE_MS = 3000;

    private static Connect host;
    private static StoragePool storage;

    @BeforeAll
    static void template() throws Exception {
        if (!Files.exists(Path.of("/dev/kvm")) && !Files.exists(Path.of("/usr/bin/qemu-system-x86_64"))) {
            Assumptions.abort("SpiceConsoleTest skipped: this host has neither /dev/kvm nor QEMU");
        }
        for (String tool : List.of("/usr/bin/remote-viewer", "/usr/bin/Xvfb")) {
            if (!Files.exists(Path.of(tool))) {
                throw new AssertionError(tool + " is missing: run .ci/install-viewer.sh first");
            }
        }
        if (!Files.exists(Path.of("/var/run/libvirt/libvirt-sock"))) {
            throw new AssertionError("libvirtd is not running: run .ci/install-libvirt.sh first");
        }
        Files.createDirectories(DIR);
        Files.setPosixFilePermissions(DIR, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.write(BASE, LibvirtDesktopTest.bootDisk("vdi-broker spice desktop"));
        Files.write(DIR.resolve("neighbour.img"), LibvirtDesktopTest.bootDisk("the neighbour guest"));
        host = new Connect(URI);
        storage = host.storagePoolCreateXML("<pool type='dir'><name>vdi-spice-" + RUN + "</name><target><path>" + DIR
                + "</path></target></pool>", 0);
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (host == null) {
            return;
        }
        for (Domain d : host.listAllDomains(0)) {
            try {
                String name = d.getName();
                if (name.startsWith(POOL + "-") || name.equals(NEIGHBOUR)) {
                    if (d.isActive() == 1) {
                        d.destroy();
                    }
                    if (d.isPersistent() == 1) {
                        d.undefine();
                    }
                }
            } catch (org.libvirt.LibvirtException e) {
                // a transient domain that went away meanwhile
            }
        }
        storage.destroy();
        try (Stream<Path> files = Files.list(DIR)) {
            files.forEach(f -> f.toFile().delete());
        }
        Files.deleteIfExists(DIR);
        host.close();
    }

    @Test
    void remoteViewerOpensSpiceTenTimesAndTheSameFileOnlyOnce() throws Exception {
        given().auth().oauth2(ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", HYPERVISOR, "driver", "libvirt", "endpoint", URI,
                        "config", Map.of("consoles", "spice,vnc", "shutdownTimeoutMs", "2000",
                                "spiceTicketGraceMs", String.valueOf(GRACE_MS)),
                        "capacity", Map.of("vcpus", 64, "memoryMb", 1_000_000, "maxDesktops", 2),
                        "concurrencyLimit", 4))
                .post("/api/v1/admin/hypervisors").then().statusCode(201);
        // the pool offers RDP too, but its desktops have no network card: RDP cannot work on them
        given().auth().oauth2(ADMIN).contentType(ContentType.JSON).body(Map.of("id", POOL, "displayName", "Spice",
                "assignment", "floating", "minSize", 1, "spare", 0, "maxSize", 1, "protocols",
                List.of("spice", "vnc", "rdp"), "desktop", Map.of("vcpus", 1, "memoryMb", 128),
                "templates", List.of(Map.of("hypervisorId", HYPERVISOR, "templateRef", BASE.toString())),
                "entitlements", Map.of("groups", List.of("/engineering"), "users", List.of())))
                .post("/api/v1/admin/pools").then().statusCode(201);
        await("a ready SPICE desktop", Duration.ofSeconds(90),
                () -> org.vdibroker.testsupport.Api.desktopsIn(POOL, "READY") == 1);

        String user = Tokens.user("sylvie", "/engineering");
        JsonPath got = given().auth().oauth2(user).contentType(ContentType.JSON).body("{}")
                .post("/api/v1/me/pools/" + POOL + "/desktop").then().statusCode(200).extract().jsonPath();
        String session = got.getString("id");
        assertThat(got.getString("connection.protocol")).isEqualTo("spice");
        assertThat(got.getMap("connection.files")).as("no .rdp link for a desktop without address")
                .containsOnlyKeys("vv");

        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger boots = new AtomicInteger();
        Thread neighbour = new Thread(() -> bootNeighbourRepeatedly(stop, boots), "neighbour-guest");
        String first = null;
        try (RemoteViewer viewer = RemoteViewer.start(LOGS)) {
            neighbour.start();
            for (int i = 1; i <= 10; i++) {
                String vv = vvFile(user, session, "spice");
                if (first == null) {
                    first = vv;
                }
                RemoteViewer.Outcome open = viewer.open(vv, LOGS.resolve("open-" + i + ".log"), Duration.ofSeconds(60));
                assertThat(open.primarySurface()).as("open %d: display channel shows the guest's screen (see %s)", i,
                        LOGS.resolve("open-" + i + ".log")).isTrue();
                assertThat(open.refused()).as("open %d: no channel refused", i).isFalse();
            }
            stop.set(true);
            neighbour.join(30_000);
            assertThat(boots.get()).as("the neighbour guest booted during the opens").isPositive();

            // the first file again, long after its connection: the console refuses it
            Thread.sleep(GRACE_MS + 1000);
            RemoteViewer.Outcome again = viewer.open(first, LOGS.resolve("reopen.log"), Duration.ofSeconds(30));
            assertThat(again.primarySurface()).as("a used .vv must not open the console again").isFalse();
        } finally {
            stop.set(true);
        }

        // VNC on request in the same session: a ticket for the VNC console only
        JsonPath vnc = given().auth().oauth2(user).contentType(ContentType.JSON).body("{\"protocol\":\"vnc\"}")
                .post("/api/v1/me/sessions/" + session + "/connection").then().statusCode(200).extract().jsonPath();
        assertThat(vnc.getString("protocol")).isEqualTo("vnc");
        assertThat(vnc.getString("files.vv")).endsWith("/connection.vv?protocol=vnc");
        try (RfbClient console = RfbClient.connect(vnc.getString("host"), vnc.getInt("port"),
                vnc.getString("ticket"))) {
            BufferedImage frame = console.readFrame(false);
            assertThat(frame.getWidth()).isPositive();
        }
        // asking for the desktop again with another protocol answers in that protocol
        given().auth().oauth2(user).contentType(ContentType.JSON).body("{\"protocol\":\"vnc\"}")
                .post("/api/v1/me/pools/" + POOL + "/desktop").then().statusCode(200)
                .body("id", org.hamcrest.Matchers.equalTo(session))
                .body("connection.protocol", org.hamcrest.Matchers.equalTo("vnc"));

        // RDP on a desktop without network card: 409 saying why, not "the hypervisor did not answer"
        problem(given().auth().oauth2(user).get("/api/v1/me/sessions/" + session + "/connection.rdp"), 409,
                "no-guest-address");
        problem(given().auth().oauth2(user).contentType(ContentType.JSON).body("{\"protocol\":\"rdp\"}")
                .post("/api/v1/me/sessions/" + session + "/connection"), 409, "no-guest-address");

        given().auth().oauth2(user).post("/api/v1/me/sessions/" + session + "/logoff").then().statusCode(200);
        problem(given().auth().oauth2(user).get("/api/v1/me/sessions/" + session + "/connection.vv"), 409,
                "session-ended");

        retire();
    }

    private static void problem(Response r, int status, String type) {
        r.then().statusCode(status).contentType("application/problem+json")
                .body("type", org.hamcrest.Matchers.endsWith("/" + type));
    }

    private static String vvFile(String user, String session, String protocol) {
        Response r = given().auth().oauth2(user).get("/api/v1/me/sessions/" + session + "/connection.vv?protocol="
                + protocol);
        r.then().statusCode(200).contentType("application/x-virt-viewer");
        return r.asString();
    }

    /** Another guest on the same host, started again and again while the user opens the console. */
    private static void bootNeighbourRepeatedly(AtomicBoolean stop, AtomicInteger boots) {
        String xml = "<domain type='qemu'><name>" + NEIGHBOUR + "</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
                + "<os><type arch='x86_64'>hvm</type><boot dev='hd'/></os><devices><disk type='file' device='disk'>"
                + "<driver name='qemu' type='raw'/><source file='" + DIR.resolve("neighbour.img")
                + "'/><target dev='hda' bus='ide'/></disk><graphics type='vnc' listen='127.0.0.1'"
                + " autoport='yes'/></devices></domain>";
        try {
            Connect c = new Connect(URI);
            try {
                while (!stop.get()) {
                    Domain d = c.domainCreateXML(xml, 0);
                    boots.incrementAndGet();
                    Thread.sleep(1500);
                    d.destroy();
                }
            } finally {
                c.close();
            }
        } catch (Exception e) {
            System.err.println("neighbour guest: " + e.getMessage());
        }
    }

    private static void retire() {
        Map<String, Object> empty = new java.util.HashMap<>(given().auth().oauth2(ADMIN)
                .get("/api/v1/admin/pools/" + POOL).then().statusCode(200).extract().jsonPath().getMap("$"));
        empty.put("minSize", 0);
        empty.put("spare", 0);
        empty.put("maxSize", 0);
        org.vdibroker.testsupport.Api.updatePool(POOL, empty);
        await("the desktops of " + POOL + " deleted", Duration.ofSeconds(60),
                () -> org.vdibroker.testsupport.Api.desktops(POOL).isEmpty());
        given().auth().oauth2(ADMIN).delete("/api/v1/admin/pools/" + POOL).then().statusCode(204);
        given().auth().oauth2(ADMIN).delete("/api/v1/admin/hypervisors/" + HYPERVISOR).then().statusCode(204);
    }
}
