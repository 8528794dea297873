package org.vdibroker.hypervisor.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.StoragePool;
import org.vdibroker.hypervisor.ConsoleAddress;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HostUsage;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.InvalidHypervisorConfigException;
import org.vdibroker.hypervisor.ProvisionSpec;
import org.vdibroker.hypervisor.SupportsConsoleTicket;
import org.vdibroker.hypervisor.SupportsGuestIp;
import org.vdibroker.hypervisor.SupportsLinkedClone;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.TaskStatus;
import org.vdibroker.hypervisor.VmInfo;
import org.vdibroker.hypervisor.VmInfo.PowerState;

/**
 * The libvirt driver against libvirt's built-in test host ({@code test:///default}: no daemon, no VMs really run).
 * Needs libvirt's C library (Debian libvirt0; {@code .ci/install-libvirt.sh} installs it): without it these tests
 * fail, they are never skipped. The way to a real console is covered by {@code LibvirtDesktopTest}.
 */
class LibvirtDriverTest {

    private static final String BASE = "/default-pool/base.qcow2";

    private final LibvirtDriverFactory factory = new LibvirtDriverFactory();
    /** Keeps the test host open beside the drivers and lets the test look behind them. */
    private Connect host;
    private final List<HypervisorDriver> drivers = new ArrayList<>();

    @BeforeEach
    void openTestHost() throws LibvirtException {
        host = new Connect("test:///default");
        StoragePool pool = host.storagePoolLookupByName("default-pool");
        if (!List.of(pool.listVolumes()).contains("base.qcow2")) {
            pool.storageVolCreateXML("<volume><name>base.qcow2</name><capacity unit='bytes'>1073741824</capacity>"
                    + "<target><format type='qcow2'/></target></volume>", 0);
        }
    }

    /** The test host lives as long as the JVM: leave it as found. */
    @AfterEach
    void closeTestHost() throws LibvirtException {
        drivers.forEach(HypervisorDriver::close);
        for (Domain d : host.listAllDomains(0)) {
            if (d.getName().startsWith("desk-")) {
                if (d.isActive() == 1) {
                    d.destroy();
                }
                d.undefine();
            }
        }
        StoragePool pool = host.storagePoolLookupByName("default-pool");
        for (String volume : pool.listVolumes()) {
            if (!volume.equals("base.qcow2")) {
                pool.storageVolLookupByName(volume).delete(0);
            }
        }
        host.close();
    }

    @Test
    void factoryTakesLibvirtUrisAndRefusesWhatCannotWork() {
        assertThat(factory.id()).isEqualTo("libvirt");
        assertThat(factory.properties()).anyMatch(p -> p.name().equals("password") && p.secret());
        for (String uri : List.of("qemu:///system", "qemu+ssh://vdi@kvm1.example/system?keyfile=/etc/vdi/id",
                "qemu+tls://kvm2.example/system", "xen:///system", "test:///default")) {
            factory.validate(definition("h", uri, Map.of()));
        }
        assertInvalid(definition("h", "vsphere://vc1", Map.of()), "endpoint");
        assertInvalid(definition("h", null, Map.of()), "endpoint");
        assertInvalid(definition("h", "qemu+tcp://admin:secret@kvm1/system", Map.of()), "endpoint");
        assertInvalid(definition("h", "qemu:///system", Map.of("consoleListen", "my-host")), "consoleListen");
        assertInvalid(definition("h", "qemu:///system", Map.of("consoles", "rdp")), "consoles");
        assertInvalid(definition("h", "qemu:///system", Map.of("diskBus", "floppy")), "diskBus");
        assertInvalid(definition("h", "qemu:///system", Map.of("callTimeoutMs", "0")), "callTimeoutMs");
        assertInvalid(definition("h", "qemu:///system", Map.of("storagePool", "a b")), "storagePool");
        assertInvalid(definition("h", "qemu:///system", Map.of("consolelisten", "127.0.0.1")), "consolelisten");
    }

    @Test
    void provisionMakesAnOverlayOnTheBaseImageAndDefinesTheVm() throws Exception {
        HypervisorDriver driver = driver(Map.of());
        assertThat(driver).isInstanceOf(SupportsLinkedClone.class).isInstanceOf(SupportsConsoleTicket.class)
                .isInstanceOf(SupportsGuestIp.class);

        TaskRef task = get(driver.provision(spec("desk-1")));
        assertThat(task.vmRef()).isEqualTo("desk-1");
        assertThat(finish(driver, task).state()).isEqualTo(TaskStatus.State.SUCCEEDED);

        String volume = host.storageVolLookupByPath("/default-pool/desk-1.qcow2").getXMLDesc(0);
        assertThat(volume).contains("<format type='qcow2'/>").contains("<path>" + BASE + "</path>");
        String domain = host.domainLookupByName("desk-1").getXMLDesc(0);
        assertThat(domain).contains("/default-pool/desk-1.qcow2").contains("vdi.desktop-id=d-1")
                .contains("type='vnc'").contains("type='spice'").contains("listen='127.0.0.1'")
                .contains("<vcpu placement='static'>2</vcpu>").contains("<memory unit='KiB'>524288</memory>");
        assertThat(get(driver.listVms("desk-"))).containsExactly(
                new VmInfo("desk-1", "desk-1", PowerState.STOPPED, 2, 512));
        assertThat(get(driver.listVms("other-"))).isEmpty();
    }

    @Test
    void powerOnOffRevertAndDeleteFollowTheVm() throws Exception {
        HypervisorDriver driver = driver(Map.of("network", "default"));
        finish(driver, get(driver.provision(spec("desk-2"))));
        HostUsage before = get(driver.usage());

        assertThat(finish(driver, get(driver.powerOn("desk-2"))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(get(driver.listVms("desk-2")).get(0).power()).isEqualTo(PowerState.RUNNING);
        HostUsage running = get(driver.usage());
        assertThat(running.desktops()).isEqualTo(1);
        assertThat(running.usedVcpus()).isEqualTo(before.usedVcpus() + 2);
        assertThat(running.capacity().vcpus()).isEqualTo(host.nodeInfo().cpus);
        assertThat(running.capacity().maxDesktops()).isEqualTo(10);

        Optional<String> ip = get(((SupportsGuestIp) driver).guestIp("desk-2"));
        assertThat(ip).isPresent();
        assertThat(get(driver.consoleAddress("desk-2", "rdp"))).isEqualTo(new ConsoleAddress("rdp", ip.get(), 3389));

        assertThat(finish(driver, get(driver.powerOff("desk-2"))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(host.domainLookupByName("desk-2").isActive()).isZero();
        assertThat(get(((SupportsGuestIp) driver).guestIp("desk-2"))).isEmpty();

        finish(driver, get(driver.powerOn("desk-2")));
        assertThat(finish(driver, get(driver.revert("desk-2", Map.of("vdi.agent-secret", "renewed")))).state())
                .isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(host.domainLookupByName("desk-2").isActive()).as("revert leaves the VM off").isZero();
        // the refresh's new agent secret reaches the guest as an SMBIOS OEM string, next to what it had
        String definition = host.domainLookupByName("desk-2").getXMLDesc(2);
        assertThat(definition).contains("<entry>vdi.agent-secret=renewed</entry>", "<entry>vdi.desktop-id=d-1</entry>",
                "<smbios mode='sysinfo'/>");
        assertThat(finish(driver, get(driver.revert("desk-2", Map.of("vdi.agent-secret", "again")))).state())
                .isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(host.domainLookupByName("desk-2").getXMLDesc(2)).contains("vdi.agent-secret=again")
                .doesNotContain("renewed");
        assertThat(host.storageVolLookupByPath("/default-pool/desk-2.qcow2").getXMLDesc(0)).contains(BASE);

        assertThat(finish(driver, get(driver.delete("desk-2"))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(List.of(host.listDefinedDomains())).doesNotContain("desk-2");
        assertThat(List.of(host.storagePoolLookupByName("default-pool").listVolumes())).containsExactly("base.qcow2");
        assertThat(finish(driver, get(driver.delete("desk-2"))).state()).as("deleting twice is fine")
                .isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(get(driver.usage()).desktops()).isZero();
    }

    @Test
    void anotherNodeCanPollATaskFromTheStateOfTheVm() throws Exception {
        HypervisorDriver first = driver(Map.of());
        HypervisorDriver second = driver(Map.of());
        TaskRef provision = get(first.provision(spec("desk-3")));
        finish(first, provision);
        assertThat(get(second.pollTask(provision)).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        TaskRef on = get(first.powerOn("desk-3"));
        finish(first, on);
        assertThat(get(second.pollTask(on)).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        TaskRef delete = get(first.delete("desk-3"));
        finish(first, delete);
        assertThat(get(second.pollTask(delete)).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        TaskStatus gone = get(second.pollTask(on));
        assertThat(gone.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(gone.error()).contains("no longer exists");
    }

    @Test
    void failuresSayWhatWentWrongAndWhetherToRetry() throws Exception {
        HypervisorDriver driver = driver(Map.of());

        TaskStatus missingBase = finish(driver,
                get(driver.provision(new ProvisionSpec("desk-4", "/nowhere/base.qcow2", 1, 256, Map.of()))));
        assertThat(missingBase.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(missingBase.retryable()).isFalse();
        assertThat(missingBase.error()).contains("/nowhere/base.qcow2").contains("not a volume of any libvirt storage");

        TaskStatus noPool = finish(driver,
                get(driver.provision(new ProvisionSpec("desk-4", "nopool/base.qcow2", 1, 256, Map.of()))));
        assertThat(noPool.error()).contains("hypervisor lv").contains("storage pool does not exist");
        assertThat(noPool.retryable()).isFalse();

        TaskStatus unknownVm = finish(driver, get(driver.powerOn("no-such-vm")));
        assertThat(unknownVm.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(unknownVm.error()).contains("start VM no-such-vm").contains("the VM does not exist");
        assertThat(unknownVm.retryable()).isFalse();

        // the test host's own VM "test" was not made by the broker: never delete or revert it
        TaskStatus foreign = finish(driver, get(driver.delete("test")));
        assertThat(foreign.error()).contains("not made by the broker");
        assertThat(host.domainLookupByName("test")).isNotNull();

        finish(driver, get(driver.provision(spec("desk-5"))));
        finish(driver, get(driver.powerOn("desk-5")));
        // the test host cannot change a running VM's devices: libvirt says so, and it is not worth retrying
        HypervisorException ticket = failure(((SupportsConsoleTicket) driver).setConsolePassword("desk-5", "t0p",
                Instant.now().plusSeconds(30)));
        assertThat(ticket.retryable()).isFalse();
        assertThat(ticket.getMessage()).contains("set the console password of VM desk-5")
                .contains("does not support it").doesNotContain("t0p");
        assertThat(failure(driver.consoleAddress("desk-5", "telnet")).getMessage()).contains("not offered");
        assertThat(failure(driver.provision(spec("bad name"))).retryable()).isFalse();
        assertThat(failure(driver.pollTask(new TaskRef("other", "power-on:desk-5", "desk-5"))).getMessage())
                .contains("does not belong");
    }

    @Test
    void anUnreachableHostIsRetryable() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        HypervisorException e = failure(driver("qemu+tcp://127.0.0.1:" + port + "/system", Map.of()).usage());
        assertThat(e.retryable()).isTrue();
        assertThat(e.getMessage()).contains("report usage on hypervisor lv");
    }

    @Test
    void aHostThatDoesNotAnswerTimesOutWithoutHoldingTheCaller() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<Socket> accepted = new CopyOnWriteArrayList<>();
            Thread acceptor = new Thread(() -> {
                try {
                    accepted.add(silent.accept()); // accepts, then never answers
                } catch (IOException e) {
                    // closed at the end of the test
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            HypervisorDriver driver = driver("qemu+tcp://127.0.0.1:" + silent.getLocalPort() + "/system",
                    Map.of("callTimeoutMs", "300"));
            long start = System.nanoTime();
            CompletionStage<HostUsage> usage = driver.usage();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).as("the call returns at once")
                    .isLessThan(Duration.ofMillis(200));
            HypervisorException e = failure(usage);
            assertThat(e.retryable()).isTrue();
            assertThat(e.getMessage()).contains("did not report usage within 300 ms");
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    @Test
    void redactionKeepsPasswordsAndGuestSecretsOutOfMessages() {
        assertThat(LibvirtErrors.redact("bad <graphics type='vnc' passwd='s3cret'/> and <entry>vdi.agent=abc</entry>"))
                .doesNotContain("s3cret").doesNotContain("abc").contains("passwd='***'");
    }

    private HypervisorDriver driver(Map<String, String> config) {
        return driver("test:///default", config);
    }

    private HypervisorDriver driver(String uri, Map<String, String> config) {
        HypervisorDriver driver = factory.create(definition("lv", uri, config));
        drivers.add(driver);
        return driver;
    }

    private static HypervisorDefinition definition(String id, String uri, Map<String, String> config) {
        return new HypervisorDefinition(id, "libvirt", uri, new HashMap<>(config), Map.of(),
                new HostCapacity(16, 8192, 10), 4);
    }

    private static ProvisionSpec spec(String name) {
        return new ProvisionSpec(name, BASE, 2, 512, Map.of("vdi.desktop-id", "d-1"));
    }

    static TaskStatus finish(HypervisorDriver driver, TaskRef task) throws Exception {
        Instant deadline = Instant.now().plusSeconds(10);
        while (true) {
            TaskStatus status = get(driver.pollTask(task));
            if (status.state() != TaskStatus.State.RUNNING) {
                return status;
            }
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("task " + task + " still running");
            }
            Thread.sleep(Math.max(10, Math.min(200, status.retryAfter().toMillis())));
        }
    }

    static <T> T get(CompletionStage<T> stage) throws Exception {
        return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    static HypervisorException failure(CompletionStage<?> stage) {
        try {
            stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(HypervisorException.class);
            return (HypervisorException) e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("expected a failure");
    }

    private void assertInvalid(HypervisorDefinition definition, String property) {
        assertThatThrownBy(() -> factory.validate(definition)).isInstanceOf(InvalidHypervisorConfigException.class)
                .satisfies(e -> assertThat(((InvalidHypervisorConfigException) e).property()).isEqualTo(property));
    }
}
