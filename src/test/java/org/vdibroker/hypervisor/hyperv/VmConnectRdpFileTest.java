package org.vdibroker.hypervisor.hyperv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.vdibroker.hypervisor.ConsoleAddress;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.ProvisionSpec;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.TaskStatus;
import org.vdibroker.protocol.Connection;
import org.vdibroker.protocol.ConnectionFiles;

/**
 * A Hyper-V desktop's VMConnect {@code .rdp}: made from what the driver reports (host, port 2179, VM id), written by
 * {@link ConnectionFiles}, and opened by FreeRDP ({@code xfreerdp +auth-only} under Xvfb, from Debian's freerdp2-x11,
 * installed by .ci/install-debian.sh from pom.xml). FreeRDP only ever connects to 127.0.0.1: to the closed default
 * port, and to a listener of this test that reads the preconnection PDU FreeRDP sends, which must carry the VM id.
 */
class VmConnectRdpFileTest {

    private static final String PARENT = "C:\\VDI\\Templates\\win11.vhdx";

    @TempDir
    Path dir;

    private FakeHyperVHost host;

    @BeforeEach
    void start() throws Exception {
        host = new FakeHyperVHost("broker", "pw").start();
        host.model().addFile(PARENT);
        host.model().addSwitch("vdi-lan");
    }

    @AfterEach
    void stop() {
        host.close();
    }

    @Test
    void theVmConnectFileCarriesHostPort2179AndTheVmIdAndFreeRdpReadsIt() throws Exception {
        HyperVDriver driver = driver(Map.of("rdpTarget", "vmconnect"));
        try {
            String vm = desktop(driver, "pool-v-00000001");
            String vmId = host.model().vm(vm).id;
            String file = rdp(driver.consoleAddress(vm, "rdp").toCompletableFuture().get(120, TimeUnit.SECONDS));

            assertThat(file.split("\r\n")).contains("full address:s:127.0.0.1:2179", "server port:i:2179",
                    "pcb:s:" + vmId);
            String out = xfreerdp(write(file));
            assertThat(out).doesNotContainIgnoringCase("failed to parse").doesNotContainIgnoringCase("failed to load")
                    .contains("Sending preconnection PDU").contains("connecting to peer 127.0.0.1");
        } finally {
            driver.close();
        }
    }

    @Test
    void freeRdpSendsTheVmIdFromTheFileToTheHostsConsolePort() throws Exception {
        try (ServerSocket console = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            HyperVDriver driver = driver(Map.of("rdpTarget", "vmconnect",
                    "vmConnectPort", String.valueOf(console.getLocalPort())));
            try {
                String vm = desktop(driver, "pool-v-00000002");
                String vmId = host.model().vm(vm).id;
                String file = rdp(driver.consoleAddress(vm, "rdp").toCompletableFuture().get(120, TimeUnit.SECONDS));
                CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> firstBytes(console));
                xfreerdp(write(file));
                byte[] pdu = received.get(60, TimeUnit.SECONDS);
                // RDP preconnection PDU v2 (MS-RDPEPS): the blob travels as UTF-16LE
                assertThat(new String(pdu, StandardCharsets.UTF_16LE)).contains(vmId);
            } finally {
                driver.close();
            }
        }
    }

    private String desktop(HyperVDriver driver, String name) throws Exception {
        TaskRef provision = driver.provision(new ProvisionSpec(name, PARENT, 2, 2048, Map.of()))
                .toCompletableFuture().get(120, TimeUnit.SECONDS);
        await(driver, provision);
        host.model().vm(name).guestNetwork = false; // VMConnect works before the guest has a network
        await(driver, driver.powerOn(name).toCompletableFuture().get(120, TimeUnit.SECONDS));
        return name;
    }

    private static void await(HyperVDriver driver, TaskRef task) throws Exception {
        long until = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < until) {
            TaskStatus s = driver.pollTask(task).toCompletableFuture().get(120, TimeUnit.SECONDS);
            if (s.state() == TaskStatus.State.SUCCEEDED) {
                return;
            }
            assertThat(s.state()).as(String.valueOf(s.error())).isEqualTo(TaskStatus.State.RUNNING);
            Thread.sleep(20);
        }
        throw new AssertionError("task " + task + " did not finish");
    }

    private static String rdp(ConsoleAddress address) {
        Connection c = new Connection("rdp", address.host(), address.port(), "ticket-1", Instant.now().plusSeconds(60),
                "alice", "pool-v", null, address.preconnectionBlob());
        return ConnectionFiles.rdp(c, null, org.vdibroker.protocol.ConnectionSettings.NONE).render();
    }

    private Path write(String file) throws Exception {
        Path path = Files.createTempFile(dir, "vmconnect", ".rdp");
        Files.writeString(path, file, StandardCharsets.UTF_8);
        return path;
    }

    /** xfreerdp authenticates only (no window); a dummy password, never a real one, to a loopback port. */
    private String xfreerdp(Path file) throws Exception {
        Process p = new ProcessBuilder("xvfb-run", "-a", "xfreerdp", file.toString(), "+auth-only", "/cert:ignore",
                "/p:not-a-secret", "/log-level:DEBUG").redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
            try (InputStream in = p.getInputStream()) {
                in.transferTo(out);
            } catch (Exception e) {
                // the process ended
            }
        });
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("xfreerdp did not end");
        }
        reader.get(10, TimeUnit.SECONDS);
        return out.toString(StandardCharsets.UTF_8);
    }

    private static byte[] firstBytes(ServerSocket server) {
        try (Socket s = server.accept()) {
            s.setSoTimeout(30_000);
            byte[] buffer = new byte[4096];
            int n = s.getInputStream().read(buffer);
            return java.util.Arrays.copyOf(buffer, Math.max(0, n));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private HyperVDriver driver(Map<String, String> extra) {
        Map<String, String> config = new HashMap<>(host.config());
        config.put("callTimeoutMs", "30000");
        config.putAll(extra);
        HypervisorDefinition definition = new HypervisorDefinition("hv1", "hyperv", host.endpoint(), config,
                host.credentials(), new HostCapacity(0, 0, 50), 4);
        HyperVSettings settings = HyperVSettings.validate(definition);
        return new HyperVDriver(definition, settings, new WinRmPowerShell("hv1", settings), Clock.systemUTC());
    }
}
