package org.vdibroker.hypervisor.libvirt;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.vdibroker.testsupport.Api.ADMIN;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.StoragePool;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * A real desktop VM end to end: the broker clones a tiny template (a boot sector that prints a banner) on the local
 * libvirtd, starts it in QEMU (KVM when the host has it), and a user opens its VNC console with the one-time ticket
 * the broker returned. Needs libvirtd running ({@code .ci/install-libvirt.sh}); skipped, saying why, only on a host
 * with neither /dev/kvm nor QEMU.
 */
@QuarkusTest
@TestProfile(ShortTicketsProfile.class)
class LibvirtDesktopTest {

    private static final String URI = "qemu:///system";
    private static final String BANNER = "vdi-broker test desktop";
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final Path DIR = Path.of("/var/lib/libvirt/images/vdi-test-" + RUN);
    private static final Path BASE = DIR.resolve("base.img");

    private static Connect host;
    private static StoragePool storage;

    @BeforeAll
    static void template() throws Exception {
        boolean kvm = Files.exists(Path.of("/dev/kvm"));
        boolean qemu = Stream.of("/usr/bin/qemu-system-x86_64", "/usr/libexec/qemu-kvm").anyMatch(p -> Files.exists(
                Path.of(p)));
        if (!kvm && !qemu) {
            String why = "LibvirtDesktopTest skipped: this host has neither /dev/kvm nor QEMU";
            System.out.println(why);
            Assumptions.abort(why);
        }
        if (!Files.exists(Path.of("/var/run/libvirt/libvirt-sock"))) {
            throw new AssertionError("libvirtd is not running: run .ci/install-libvirt.sh first");
        }
        Files.createDirectories(DIR);
        Files.setPosixFilePermissions(DIR, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.write(BASE, bootDisk(BANNER));
        host = new Connect(URI);
        // a transient pool: it disappears with the test, so nothing is left defined in libvirt
        storage = host.storagePoolCreateXML("<pool type='dir'><name>vdi-test-" + RUN + "</name><target><path>" + DIR
                + "</path></target></pool>", 0);
    }

    @AfterAll
    static void removeTemplate() throws Exception {
        if (host == null) {
            return;
        }
        List<String> leftovers = new java.util.ArrayList<>();
        for (Domain d : host.listAllDomains(0)) {
            if (d.getName().startsWith("kvm-")) {
                leftovers.add(d.getName());
                if (d.isActive() == 1) {
                    d.destroy();
                }
                d.undefine(); // after a failed test, still leave the host clean
            }
        }
        List<String> volumes = List.of(storage.listVolumes()).stream().filter(v -> !v.equals("base.img")).toList();
        storage.destroy();
        try (Stream<Path> files = Files.list(DIR)) {
            files.forEach(f -> f.toFile().delete());
        }
        Files.deleteIfExists(DIR);
        host.close();
        assertThat(leftovers).as("VMs left behind").isEmpty();
        assertThat(volumes).as("overlays left behind").isEmpty();
    }

    @Test
    void aUserOpensTheConsoleOfARealVmWithAOneTimeTicket() throws Exception {
        hypervisor("kvm-local", 4);
        Api.createPool(pool("kvm-desk", 1, 1, List.of("kvm-local")));
        await("a ready desktop on the KVM host", Duration.ofSeconds(60),
                () -> Api.desktopsIn("kvm-desk", "READY") == 1);

        String user = Tokens.user("alice", "/engineering");
        JsonPath got = given().auth().oauth2(user).contentType(ContentType.JSON).body("{\"protocol\":\"vnc\"}")
                .post("/api/v1/me/pools/kvm-desk/desktop").then().statusCode(200).extract().jsonPath();
        String sessionId = got.getString("id");
        String desktopId = got.getString("desktopId");
        String vm = (String) Api.desktop("kvm-desk", desktopId).get("vmRef");
        assertThat(host.domainLookupByName(vm).isActive()).isEqualTo(1);
        String consoleHost = got.getString("connection.host");
        int port = got.getInt("connection.port");
        String ticket = got.getString("connection.ticket");
        assertThat(consoleHost).isEqualTo("127.0.0.1");

        try (RfbClient console = RfbClient.connect(consoleHost, port, ticket)) {
            BufferedImage frame = console.readFrame(false);
            Instant deadline = Instant.now().plusSeconds(10);
            while (!lit(frame) && Instant.now().isBefore(deadline)) {
                frame = console.readFrame(true); // the guest is still booting
            }
            Path png = Path.of("target", "libvirt-desktop.png");
            Files.createDirectories(png.getParent());
            ImageIO.write(frame, "png", png.toFile());
            assertThat(lit(frame)).as("the banner on the screen, see " + png).isTrue();
        }
        assertThatThrownBy(() -> RfbClient.connect(consoleHost, port, ticket).close()).as("the ticket works once")
                .isInstanceOf(RfbClient.AuthenticationFailed.class);

        JsonPath again = given().auth().oauth2(user).post("/api/v1/me/sessions/" + sessionId + "/connection").then()
                .statusCode(200).extract().jsonPath();
        String unused = again.getString("ticket");
        Instant expiresAt = Instant.parse(again.getString("expiresAt"));
        Thread.sleep(Math.max(0, Duration.between(Instant.now(), expiresAt).toMillis()) + 1500);
        assertThatThrownBy(() -> RfbClient.connect(again.getString("host"), again.getInt("port"), unused).close())
                .as("an expired ticket").isInstanceOf(RfbClient.AuthenticationFailed.class);

        // mark the overlay (inode numbers are reused, so they cannot tell a new file): a new overlay is unmarked
        Path overlay = DIR.resolve(vm + ".qcow2");
        FileTime marked = FileTime.from(Instant.parse("2001-01-01T00:00:00Z"));
        Files.setLastModifiedTime(overlay, marked);
        String secret = agentSecret(vm);
        agentEvent(desktopId, secret, 204);
        given().auth().oauth2(user).post("/api/v1/me/sessions/" + sessionId + "/logoff").then().statusCode(200);
        await("the desktop refreshed", Duration.ofSeconds(60),
                () -> "READY".equals(Api.desktop("kvm-desk", desktopId).get("state")));
        assertThat(Files.getLastModifiedTime(overlay)).as("a new overlay").isNotEqualTo(marked);
        assertThat(host.domainLookupByName(vm).isActive()).isEqualTo(1);
        // the guest booted with a new agent secret (SMBIOS OEM string); the one its former user could read is void
        String renewed = agentSecret(vm);
        assertThat(renewed).isNotEqualTo(secret);
        agentEvent(desktopId, secret, 401);
        agentEvent(desktopId, renewed, 204);

        retire("kvm-desk");
        assertThat(Files.exists(DIR.resolve(vm + ".qcow2"))).isFalse();
        deleteHypervisor("kvm-local");
    }

    /** The agent secret the running guest was booted with, from its live definition's SMBIOS OEM strings. */
    private static String agentSecret(String vm) throws Exception {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("<entry>vdi\\.agent-secret=([0-9a-f]+)</entry>")
                .matcher(host.domainLookupByName(vm).getXMLDesc(0));
        assertThat(m.find()).as("the domain carries an agent secret").isTrue();
        return m.group(1);
    }

    private static void agentEvent(String desktopId, String secret, int status) {
        given().header("Authorization", "Desktop " + secret).contentType(ContentType.JSON)
                .body("{\"type\":\"heartbeat\"}").post("/api/v1/agent/desktops/" + desktopId + "/events").then()
                .statusCode(status);
    }

    @Test
    void aPoolSpanningKvmAndTheSimulatorUsesBoth() throws Exception {
        hypervisor("kvm-mixed", 1);
        Api.simulator("sim-mixed", 1, 50, 50);
        Api.createPool(pool("kvm-mix", 2, 2, List.of("kvm-mixed", "sim-mixed")));
        await("two ready desktops", Duration.ofSeconds(60), () -> Api.desktopsIn("kvm-mix", "READY") == 2);
        assertThat(Api.desktops("kvm-mix").stream().map(d -> d.get("hypervisorId")))
                .containsExactlyInAnyOrder("kvm-mixed", "sim-mixed");
        retire("kvm-mix");
        deleteHypervisor("kvm-mixed");
        deleteHypervisor("sim-mixed");
    }

    private static void hypervisor(String id, int maxDesktops) {
        given().auth().oauth2(ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", id, "driver", "libvirt", "endpoint", URI,
                        "config", Map.of("consoles", "vnc,spice", "shutdownTimeoutMs", "2000"),
                        // the driver counts what the whole host uses, so declare more than any test host has
                        "capacity", Map.of("vcpus", 64, "memoryMb", 1_000_000, "maxDesktops", maxDesktops),
                        "concurrencyLimit", 4))
                // 409: Surefire's rerun of a failed test finds the hypervisor the first run defined
                .post("/api/v1/admin/hypervisors").then().statusCode(org.hamcrest.Matchers.oneOf(201, 409));
    }

    private static Map<String, Object> pool(String id, int min, int max, List<String> hypervisors) {
        return Map.of("id", id, "displayName", "Pool " + id, "assignment", "floating", "minSize", min, "spare", 0,
                "maxSize", max, "protocols", List.of("vnc", "spice"), "desktop", Map.of("vcpus", 1, "memoryMb", 128),
                "templates", hypervisors.stream().map(h -> Map.of("hypervisorId", h, "templateRef",
                        h.startsWith("kvm") ? BASE.toString() : "tmpl")).toList(),
                "entitlements", Map.of("groups", List.of("/engineering"), "users", List.of()));
    }

    /** Shrinks the pool to nothing, waits until its desktops are deleted, then deletes it. */
    private static void retire(String poolId) {
        Map<String, Object> empty = new java.util.HashMap<>(given().auth().oauth2(ADMIN)
                .get("/api/v1/admin/pools/" + poolId).then().statusCode(200).extract().jsonPath().getMap("$"));
        empty.put("minSize", 0);
        empty.put("spare", 0);
        empty.put("maxSize", 0);
        Api.updatePool(poolId, empty);
        await("the desktops of " + poolId + " deleted", Duration.ofSeconds(60),
                () -> Api.desktops(poolId).isEmpty());
        given().auth().oauth2(ADMIN).delete("/api/v1/admin/pools/" + poolId).then().statusCode(204);
    }

    private static void deleteHypervisor(String id) {
        given().auth().oauth2(ADMIN).delete("/api/v1/admin/hypervisors/" + id).then().statusCode(204);
    }

    /** Whether the screen shows the banner: the boot sector cleared it and printed one line at the top. */
    private static boolean lit(BufferedImage frame) {
        return litPixels(frame, 0, 16) > 100 && litPixels(frame, 16, frame.getHeight()) == 0;
    }

    private static int litPixels(BufferedImage frame, int fromY, int toY) {
        int lit = 0;
        for (int y = fromY; y < Math.min(toY, frame.getHeight()); y++) {
            for (int x = 0; x < frame.getWidth(); x++) {
                if ((frame.getRGB(x, y) & 0xffffff) != 0) {
                    lit++;
                }
            }
        }
        return lit;
    }

    /**
     * A 1 MiB disk whose boot sector clears the screen, prints {@code banner} through the BIOS and halts. Hand-written
     * 16-bit code; the offsets are in the comments.
     */
    static byte[] bootDisk(String banner) {
        byte[] code = HexFormat.of().parseHex(""
                + "fa" // 00 cli
                + "31c0" // 01 xor ax,ax
                + "8ed8" // 03 mov ds,ax
                + "8ed0" // 05 mov ss,ax
                + "bc007c" // 07 mov sp,0x7c00
                + "fb" // 0a sti
                + "b80300" // 0b mov ax,0x0003: 80x25 text mode, clears the screen
                + "cd10" // 0e int 0x10
                + "be257c" // 10 mov si,0x7c25: the banner
                + "ac" // 13 lodsb
                + "08c0" // 14 or al,al
                + "7409" // 16 jz 0x21
                + "b40e" // 18 mov ah,0x0e: teletype output
                + "bb0f00" // 1a mov bx,0x000f
                + "cd10" // 1d int 0x10
                + "ebf2" // 1f jmp 0x13
                + "fa" // 21 cli
                + "f4" // 22 hlt
                + "ebfc"); // 23 jmp 0x21
        byte[] disk = new byte[1024 * 1024];
        System.arraycopy(code, 0, disk, 0, code.length);
        byte[] text = banner.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(text, 0, disk, 0x25, text.length);
        disk[510] = 0x55;
        disk[511] = (byte) 0xaa;
        return disk;
    }
}
