package org.vdibroker.hypervisor.hyperv;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.ConsoleAddress;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HostUsage;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.ProvisionSpec;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.TaskStatus;
import org.vdibroker.hypervisor.VmInfo;
import org.vdibroker.hypervisor.hyperv.FakeHyperVModel.Vm;
import org.vdibroker.security.AgentSecrets;
import org.vdibroker.testsupport.SettableClock;

/**
 * The Hyper-V driver through winrm4j against {@link FakeHyperVHost}, a WS-Management server that keeps a model of a
 * host: every SPI operation, tasks polled from another node, guest data quoted safely, the VMConnect address, an
 * expired session, and how failures map to retryable, final and unreachable errors.
 */
class HyperVDriverTest {

    private static final String PARENT = "C:\\VDI\\Templates\\win11.vhdx";

    private FakeHyperVHost host;
    private HyperVDriver driver;
    /** The WinRM side of the driver made last: {@link #driver} until a test makes another. */
    private WinRmPowerShell shell;
    private WinRmPowerShell mainShell;

    @BeforeEach
    void start() throws Exception {
        host = new FakeHyperVHost("broker", "s3cret-pw").start();
        host.model().addFile(PARENT);
        host.model().addSwitch("vdi-lan");
        driver = driver(Map.of(), Clock.systemUTC());
        mainShell = shell;
    }

    @AfterEach
    void stop() {
        driver.close();
        host.close();
    }

    @Test
    void aDesktopLivesItsWholeLifeOnTheHost() {
        HostUsage empty = await(driver.usage());
        assertThat(empty.capacity().vcpus()).isEqualTo(32);
        assertThat(empty.capacity().memoryMb()).isEqualTo(131_072);
        assertThat(empty.desktops()).isZero();

        String vm = provisioned("pool-a-00000001");
        Vm made = host.model().vm(vm);
        assertThat(made.state).isEqualTo("Off");
        assertThat(made.parentDisk).isEqualTo(PARENT);
        assertThat(made.disk).isEqualTo("C:\\VDI\\Templates\\pool-a-00000001.vhdx");
        assertThat(made.cpus).isEqualTo(2);
        assertThat(made.memoryMb).isEqualTo(4096);
        assertThat(made.checkpoints).containsExactly(HyperVScripts.BASE_CHECKPOINT);
        assertThat(made.kvp).containsEntry("vdi.agent-secret", "0123456789abcdef").containsEntry("vdi.desktop-id",
                "d-1");
        assertThat(host.model().hasFile(made.disk)).isTrue();

        assertThat(await(driver.listVms("pool-a-"))).extracting(VmInfo::name, VmInfo::power, VmInfo::vcpus)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(vm, VmInfo.PowerState.STOPPED, 2));
        assertThat(await(driver.listVms("pool-b-"))).isEmpty();

        finish(driver.powerOn(vm));
        assertThat(made.state).isEqualTo("Running");
        HostUsage used = await(driver.usage());
        assertThat(used.desktops()).isEqualTo(1);
        assertThat(used.usedVcpus()).isEqualTo(2);
        assertThat(used.usedMemoryMb()).isEqualTo(4096);
        String ip = await(driver.guestIp(vm)).orElseThrow();
        assertThat(ip).startsWith("10.20.0.");
        assertThat(await(driver.consoleAddress(vm, "rdp"))).isEqualTo(new ConsoleAddress("rdp", ip, 3389));

        made.writes = 7; // the user changed things
        finish(driver.powerOff(vm));
        assertThat(made.state).isEqualTo("Off");
        assertThat(made.lastStop).isEqualTo("shutdown");

        finish(driver.powerOn(vm));
        finish(driver.revert(vm, Map.of(AgentSecrets.METADATA_KEY, "renewed")));
        assertThat(made.state).isEqualTo("Off");
        assertThat(made.writes).isZero();
        // the refresh's new agent secret replaces the KVP item the guest was given at provisioning
        assertThat(made.kvp).containsEntry(AgentSecrets.METADATA_KEY, "renewed");

        finish(driver.delete(vm));
        assertThat(host.model().vm(vm)).isNull();
        assertThat(host.model().hasFile(made.disk)).isFalse();
        finish(driver.delete(vm)); // already gone counts as deleted
    }

    @Test
    void anotherNodePollsATaskFromTheVmState() {
        SettableClock clock = new SettableClock(Instant.now());
        HyperVDriver other = driver(Map.of("shutdownTimeoutMs", "1000"), clock);
        try {
            TaskRef provision = await(driver.provision(spec("pool-a-00000002", Map.of())));
            waitUntil(() -> host.model().vm("pool-a-00000002") != null);
            // the other node never saw this task: it judges by the VM (exists with its base checkpoint)
            assertThat(await(other.pollTask(provision)).state()).isEqualTo(TaskStatus.State.SUCCEEDED);

            Vm vm = host.model().vm("pool-a-00000002");
            vm.state = "Running"; // running, and its guest ignores shutdown requests
            TaskRef powerOff = new TaskRef("hv1", "power-off:pool-a-00000002:" + (clock.millis() + 1000),
                    "pool-a-00000002");
            assertThat(await(other.pollTask(powerOff)).state()).isEqualTo(TaskStatus.State.RUNNING);
            clock.advance(Duration.ofSeconds(2));
            // the node that asked for the shutdown is gone and the deadline passed: the poller turns the VM off
            assertThat(await(other.pollTask(powerOff)).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
            assertThat(vm.state).isEqualTo("Off");

            TaskRef missing = new TaskRef("hv1", "power-on:pool-a-09999999:" + clock.millis(), "pool-a-09999999");
            TaskStatus gone = await(other.pollTask(missing));
            assertThat(gone.state()).isEqualTo(TaskStatus.State.FAILED);
            assertThat(gone.retryable()).isFalse();
        } finally {
            other.close();
        }
    }

    @Test
    void aGuestThatIgnoresShutdownIsTurnedOff() {
        String vm = provisioned("pool-a-00000003");
        finish(driver.powerOn(vm));
        host.model().vm(vm).ignoresShutdown = true;
        finish(driver.powerOff(vm));
        assertThat(host.model().vm(vm).state).isEqualTo("Off");
        assertThat(host.model().vm(vm).lastStop).isEqualTo("turn-off");
    }

    @Test
    void aVmThatIsStartingIsWaitedForNotStartedAgain() {
        String vm = provisioned("pool-a-00000011");
        Vm made = host.model().vm(vm);
        HyperVDriver other = driver(Map.of(), Clock.systemUTC());
        try {
            host.model().holdNextStart(); // the guest takes its time: the VM is Starting, the first Start-VM waits
            TaskRef first = await(driver.powerOn(vm));
            waitUntil(() -> made.state.equals("Starting"));
            // the broker asks again (here from another node) while the first start is in flight: Start-VM again
            // would fail on a VM that changes state, so the script waits, and is not done before the VM runs
            TaskRef again = await(other.powerOn(vm));
            waitUntil(() -> startScripts() == 2);
            assertThat(await(other.pollTask(again)).state()).isEqualTo(TaskStatus.State.RUNNING);
            host.model().finishStart(vm);
            TaskStatus status = poll(other, again);
            assertThat(status.state()).as(String.valueOf(status.error())).isEqualTo(TaskStatus.State.SUCCEEDED);
            assertThat(made.state).isEqualTo("Running");
            assertThat(poll(driver, first).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
            assertThat(made.startVmCalls).isEqualTo(1);
        } finally {
            other.close();
        }
    }

    @Test
    void aStartInFlightThatOutlastsTheWaitIsNotReportedDone() {
        String vm = provisioned("pool-a-00000012");
        Vm made = host.model().vm(vm);
        HyperVDriver impatient = driver(Map.of("operationTimeoutMs", "2000"), Clock.systemUTC()); // waits 1 s
        try {
            host.model().holdNextStart();
            TaskRef first = await(driver.powerOn(vm));
            waitUntil(() -> made.state.equals("Starting"));
            TaskStatus status = poll(impatient, await(impatient.powerOn(vm)));
            assertThat(status.state()).isEqualTo(TaskStatus.State.FAILED);
            assertThat(status.retryable()).isTrue();
            assertThat(status.error()).contains("is Starting, not Running");
            assertThat(made.startVmCalls).isEqualTo(1); // the wait did not end in a second Start-VM
            host.model().finishStart(vm);
            assertThat(poll(driver, first).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
            assertThat(made.state).isEqualTo("Running");
        } finally {
            impatient.close();
        }
    }

    @Test
    void guestDataReachesTheHostExactlyWhateverItHolds() {
        String hostile = "x'; Remove-VM * -Force; '\u2019$(Stop-Computer)\u2018 `n \"$env:USERNAME\" @{a=1}";
        provisioned("pool-a-00000004", Map.of("vdi.agent-secret", hostile, "vdi.desktop-id", "d-'4'"));
        Vm vm = host.model().vm("pool-a-00000004");
        assertThat(vm.kvp).containsEntry("vdi.agent-secret", hostile).containsEntry("vdi.desktop-id", "d-'4'");
        // names the script would splice into code are refused before anything is sent
        assertFailure(driver.provision(spec("x'; Remove-VM *", Map.of())), false, false);
        assertFailure(driver.powerOn("a b"), false, false);
        assertFailure(driver.provision(new ProvisionSpec("pool-a-5", "win11.vhdx", 2, 4096, Map.of())), false, false);
    }

    @Test
    void vmConnectReachesTheConsoleThroughTheHostBeforeTheGuestHasANetwork() {
        HyperVDriver vmconnect = driver(Map.of("rdpTarget", "vmconnect"), Clock.systemUTC());
        HyperVDriver auto = driver(Map.of("rdpTarget", "auto"), Clock.systemUTC());
        try {
            String vm = provisioned("pool-a-00000006");
            Vm made = host.model().vm(vm);
            made.guestNetwork = false;
            finish(driver.powerOn(vm));
            ConsoleAddress console = await(vmconnect.consoleAddress(vm, "rdp"));
            assertThat(console).isEqualTo(new ConsoleAddress("rdp", "127.0.0.1", 2179, made.id));
            assertThat(await(auto.consoleAddress(vm, "rdp"))).isEqualTo(console);
            // the guest target waits for an address, and says so
            assertFailure(driver.consoleAddress(vm, "rdp"), true, false);
            assertFailure(driver.consoleAddress(vm, "vnc"), false, false);
        } finally {
            vmconnect.close();
            auto.close();
        }
    }

    @Test
    void anExpiredSessionIsAuthenticatedAgain() {
        await(driver.usage()); // a client is kept, authenticated
        int before = mainShell.clientsBuilt();
        host.refuseAuthentication(1);
        assertThat(await(driver.usage()).capacity().vcpus()).isEqualTo(32);
        assertThat(host.unauthorizedAnswers()).isGreaterThanOrEqualTo(1);
        // the refused client was replaced by a new one, which later calls keep using
        assertThat(mainShell.clientsBuilt()).isEqualTo(before + 1);
        await(driver.listVms("pool-"));
        await(driver.usage());
        assertThat(mainShell.clientsBuilt()).isEqualTo(before + 1);
    }

    @Test
    void callsReuseTheHostsWinRmClients() throws Exception {
        await(driver.usage());
        int first = mainShell.clientsBuilt();
        for (int i = 0; i < 10; i++) {
            await(driver.listVms("pool-"));
        }
        assertThat(mainShell.clientsBuilt()).as("ten calls one after another, one client").isEqualTo(first);

        // calls at once: each on its own client (NTLM sealing state is per client), never more than the driver's
        // worker threads (4 here), and every answer right
        java.util.List<java.util.concurrent.CompletableFuture<HostUsage>> calls = new java.util.ArrayList<>();
        for (int i = 0; i < 24; i++) {
            calls.add(driver.usage().toCompletableFuture());
        }
        for (java.util.concurrent.CompletableFuture<HostUsage> call : calls) {
            assertThat(await(call).capacity().vcpus()).isEqualTo(32);
        }
        assertThat(mainShell.clientsBuilt()).isBetween(first, 4);
        int afterBurst = mainShell.clientsBuilt();
        for (int i = 0; i < 5; i++) {
            await(driver.usage());
        }
        assertThat(mainShell.clientsBuilt()).isEqualTo(afterBurst);
    }

    @Test
    void aClosedDriverRunsNothingMore() {
        await(driver.usage());
        int envelopes = host.envelopes();
        driver.close();
        assertFailure(driver.usage(), true, false);
        assertThat(host.envelopes()).isEqualTo(envelopes);
    }

    @Test
    void refusedCredentialsAreFinalButNotSilence() {
        HyperVDriver wrong = driver(Map.of(), Clock.systemUTC(), "wrong-password");
        try {
            HypervisorException e = assertFailure(wrong.usage(), false, false);
            assertThat(e.getMessage()).contains("refused the credentials").doesNotContain("wrong-password");
        } finally {
            wrong.close();
        }
    }

    @Test
    void powerShellErrorsMapToRetryableOrFinal() {
        String vm = provisioned("pool-a-00000007");
        host.model().failNext("start", "ResourceBusy", "The operation cannot be performed while the VM is busy");
        TaskStatus busy = poll(await(driver.powerOn(vm)));
        assertThat(busy.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(busy.retryable()).isTrue();
        assertThat(busy.error()).contains("busy").contains("ResourceBusy");

        TaskStatus missing = poll(await(driver.powerOn("pool-a-09999998")));
        assertThat(missing.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(missing.retryable()).isFalse();
        assertThat(missing.error()).contains("unable to find a virtual machine");

        TaskStatus noParent = poll(await(driver.provision(new ProvisionSpec("pool-a-00000008",
                "D:\\missing\\base.vhdx", 2, 4096, Map.of()))));
        assertThat(noParent.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(noParent.retryable()).isFalse();

        host.model().capacity(32, 1024); // no room left to start a 4 GB desktop
        TaskStatus full = poll(await(driver.powerOn(vm)));
        assertThat(full.retryable()).isTrue();
        assertThat(full.error()).contains("Not enough memory");

        host.model().addForeignVm("pool-a-handmade");
        TaskStatus foreign = poll(await(driver.delete("pool-a-handmade")));
        assertThat(foreign.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(foreign.retryable()).isFalse();
        assertThat(host.model().vm("pool-a-handmade")).isNotNull();
    }

    @Test
    void aFaultOfTheWinRmServiceIsAnAnswerNotSilence() {
        host.faultNext("The WS-Management service cannot process the request: too many shells for this user");
        HypervisorException e = assertFailure(driver.usage(), true, false);
        assertThat(e.getMessage()).contains("WinRM service answered");
        assertThat(await(driver.usage()).capacity().vcpus()).isEqualTo(32); // and the next call works
    }

    @Test
    void onlySilenceIsUnreachable() {
        HyperVDriver quick = driver(Map.of("callTimeoutMs", "3000"), Clock.systemUTC());
        try {
            await(quick.listVms("warm-up-")); // CXF is set up: what follows measures the call timeout only
            host.silence(true);
            long began = System.nanoTime();
            assertFailure(quick.usage(), true, true);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began)).isLessThan(10_000);
            host.silence(false);
            host.stop();
            assertFailure(quick.usage(), true, true); // connection refused
        } finally {
            quick.close();
        }
    }

    // --- helpers

    private HyperVDriver driver(Map<String, String> extra, Clock clock) {
        return driver(extra, clock, host.credentials().get("password"));
    }

    private HyperVDriver driver(Map<String, String> extra, Clock clock, String password) {
        Map<String, String> config = new HashMap<>(host.config());
        config.put("callTimeoutMs", "30000"); // generous: the first call of a JVM sets up CXF, slow on a busy machine
        config.putAll(extra);
        HypervisorDefinition definition = new HypervisorDefinition("hv1", "hyperv", host.endpoint(), config,
                Map.of("password", password), new HostCapacity(0, 0, 50), 4);
        HyperVSettings settings = HyperVSettings.validate(definition);
        shell = new WinRmPowerShell("hv1", settings);
        return new HyperVDriver(definition, settings, shell, clock);
    }

    private static ProvisionSpec spec(String name, Map<String, String> metadata) {
        return new ProvisionSpec(name, PARENT, 2, 4096, metadata);
    }

    private String provisioned(String name) {
        return provisioned(name, Map.of("vdi.agent-secret", "0123456789abcdef", "vdi.desktop-id", "d-1"));
    }

    private String provisioned(String name, Map<String, String> metadata) {
        TaskStatus status = poll(await(driver.provision(spec(name, metadata))));
        assertThat(status.state()).as(status.error()).isEqualTo(TaskStatus.State.SUCCEEDED);
        return status.vmRef();
    }

    private void finish(CompletionStage<TaskRef> task) {
        TaskStatus status = poll(await(task));
        assertThat(status.state()).as(String.valueOf(status.error())).isEqualTo(TaskStatus.State.SUCCEEDED);
    }

    private TaskStatus poll(TaskRef task) {
        return poll(driver, task);
    }

    private TaskStatus poll(HyperVDriver node, TaskRef task) {
        long until = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < until) {
            TaskStatus status = await(node.pollTask(task));
            if (status.state() != TaskStatus.State.RUNNING) {
                return status;
            }
            sleep(20);
        }
        throw new AssertionError("task " + task + " did not finish");
    }

    /** How many start scripts reached the host. */
    private long startScripts() {
        return host.model().scripts().stream().filter(s -> s.startsWith("# vdi-broker hyperv start\n")).count();
    }

    private static HypervisorException assertFailure(CompletionStage<?> stage, boolean retryable,
            boolean unreachable) {
        Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(() -> stage.toCompletableFuture().join());
        assertThat(thrown).isInstanceOf(CompletionException.class);
        assertThat(thrown.getCause()).isInstanceOf(HypervisorException.class);
        HypervisorException e = (HypervisorException) thrown.getCause();
        assertThat(e.retryable()).as(e.getMessage()).isEqualTo(retryable);
        assertThat(e.unreachable()).as(e.getMessage()).isEqualTo(unreachable);
        return e;
    }

    private static <T> T await(CompletionStage<T> stage) {
        return stage.toCompletableFuture().orTimeout(120, TimeUnit.SECONDS).join();
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition) {
        long until = System.currentTimeMillis() + 120_000;
        while (!condition.getAsBoolean()) {
            if (System.currentTimeMillis() > until) {
                throw new AssertionError("condition not met in time");
            }
            sleep(20);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
