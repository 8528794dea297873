package org.vdibroker.hypervisor.xenserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.ConsoleAddress;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HostUsage;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.InvalidHypervisorConfigException;
import org.vdibroker.hypervisor.ProvisionSpec;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.TaskStatus;
import org.vdibroker.hypervisor.VmInfo;

/**
 * The xenserver driver against the fake XAPI pool: every SPI operation, the XML-RPC calls they make, error mapping,
 * an expired session and a master failover. To run the SPI tests against a real pool instead, set
 * {@code -Dxenserver.test.endpoint=https://master -Dxenserver.test.username=... -Dxenserver.test.password=...
 * -Dxenserver.test.template=<template name>}; tests that look inside the fake are then skipped.
 */
class XenServerDriverTest {

    private static final String REAL = System.getProperty("xenserver.test.endpoint");

    private FakeXapi fake;
    private XenServerDriver driver;
    private final List<XenServerDriver> extra = new java.util.ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        if (REAL == null) {
            fake = FakeXapi.master();
        }
        driver = driver(Map.of());
    }

    @AfterEach
    void stop() {
        driver.close();
        extra.forEach(XenServerDriver::close);
        if (fake != null) {
            fake.close();
        }
    }

    private XenServerDriver driver(Map<String, String> more) {
        return driver(REAL != null ? REAL : fake.url(), more);
    }

    private XenServerDriver driver(String endpoint, Map<String, String> more) {
        Map<String, String> config = new HashMap<>(more);
        config.put("username", REAL != null ? System.getProperty("xenserver.test.username") : FakeXapi.USER);
        config.putIfAbsent("callTimeoutMs", "3000");
        config.putIfAbsent("taskTimeoutMs", "20000");
        config.putIfAbsent("shutdownTimeoutMs", "2000");
        String password = REAL != null ? System.getProperty("xenserver.test.password") : FakeXapi.PASSWORD;
        HypervisorDefinition definition = new HypervisorDefinition("xen-1", "xenserver", endpoint, config,
                Map.of("password", password), new HostCapacity(16, 65536, 50));
        XenServerDriver d = (XenServerDriver) new XenServerDriverFactory().create(definition);
        extra.add(d);
        return d;
    }

    private static String template() {
        return REAL != null ? System.getProperty("xenserver.test.template") : FakeXapi.TEMPLATE;
    }

    private static <T> T await(CompletionStage<T> stage) throws Exception {
        try {
            return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    private static TaskStatus finish(XenServerDriver d, TaskRef task) throws Exception {
        long until = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < until) {
            TaskStatus status = await(d.pollTask(task));
            if (status.state() != TaskStatus.State.RUNNING) {
                return status;
            }
            Thread.sleep(Math.max(20, Math.min(200, status.retryAfter().toMillis())));
        }
        throw new AssertionError("task did not end: " + task);
    }

    private String provisioned(String name) throws Exception {
        TaskRef task = await(driver.provision(new ProvisionSpec(name, template(), 2, 2048,
                Map.of("vdi.desktop-id", "d-1", "vdi.agent-secret", "s3cret"))));
        assertThat(finish(driver, task).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        return name;
    }

    private static String name() {
        return "pool-" + UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void provisionClonesTheTemplateProvisionsAndSnapshotsThroughAsyncTasks() throws Exception {
        assumeTrue(fake != null);
        String name = name();
        TaskRef task = await(driver.provision(new ProvisionSpec(name, FakeXapi.TEMPLATE, 2, 2048,
                Map.of("vdi.desktop-id", "d-1", "vdi.agent-secret", "s3cret"))));
        assertThat(task.vmRef()).isEqualTo(name);
        assertThat(finish(driver, task).vmRef()).isEqualTo(name);

        // golden: the XML-RPC calls, in order (task polls collapsed)
        List<String> calls = collapsePolls(fake.calls);
        assertThat(calls).containsExactly(
                "session.login_with_password", "session.get_this_host", "host.get_API_version_major",
                "session.get_this_host", "host.get_API_version_minor",
                "VM.get_by_name_label",
                "VM.get_by_name_label",
                "Async.VM.clone", "task.get_status*", "task.get_result", "task.destroy",
                "VM.add_to_other_config", "VM.add_to_other_config", "VM.remove_from_other_config",
                "Async.VM.provision", "task.get_status*", "task.get_result", "task.destroy",
                "VM.set_is_a_template", "VM.set_memory_limits", "VM.get_VCPUs_at_startup", "VM.set_VCPUs_max",
                "VM.set_VCPUs_at_startup",
                "VM.remove_from_xenstore_data", "VM.add_to_xenstore_data",
                "VM.remove_from_xenstore_data", "VM.add_to_xenstore_data",
                "Async.VM.snapshot", "task.get_status*", "task.get_result", "task.destroy",
                "VM.add_to_other_config");

        Map<String, Object> vm = fake.vmsNamed(name).get(0);
        assertThat(vm.get("is_a_template")).isEqualTo(false);
        assertThat(vm.get("VCPUs_at_startup")).isEqualTo("2");
        assertThat(vm.get("memory_static_max")).isEqualTo(String.valueOf(2048L * 1024 * 1024));
        // the agent's secret reaches the guest through xenstore, not the VM's other-config
        assertThat(xs(vm)).containsEntry("vm-data/vdi-broker/vdi.agent-secret", "s3cret");
        assertThat(oc(vm).values()).doesNotContain("s3cret");
        assertThat((List<?>) vm.get("snapshots")).hasSize(1);
        assertThat(fake.tasks).as("finished tasks are destroyed").isEmpty();
    }

    static List<String> collapsePolls(List<String> calls) {
        List<String> out = new java.util.ArrayList<>();
        for (String c : calls) {
            if (c.equals("task.get_status")) {
                if (!out.isEmpty() && out.get(out.size() - 1).equals("task.get_status*")) {
                    continue;
                }
                out.add("task.get_status*");
            } else {
                out.add(c);
            }
        }
        return out;
    }

    @Test
    void listVmsReportsDesktopsUnderTheNameTheBrokerGave() throws Exception {
        String name = provisioned(name());
        List<VmInfo> vms = await(driver.listVms(name.substring(0, 5)));
        assertThat(vms).extracting(VmInfo::name).contains(name);
        VmInfo vm = vms.stream().filter(v -> v.name().equals(name)).findFirst().orElseThrow();
        assertThat(vm.vmRef()).isEqualTo(name);
        assertThat(vm.power()).isEqualTo(VmInfo.PowerState.STOPPED);
        assertThat(vm.vcpus()).isEqualTo(2);
        assertThat(vm.memoryMb()).isEqualTo(2048);
        // the template and the base snapshot are not VMs
        assertThat(await(driver.listVms(""))).extracting(VmInfo::name)
                .doesNotContain(template(), name + "-base");
    }

    @Test
    void usageComesFromTheHostsAndTheRunningDesktops() throws Exception {
        assumeTrue(fake != null);
        String name = provisioned(name());
        assertThat(finish(driver, await(driver.powerOn(name))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        HostUsage usage = await(driver.usage());
        assertThat(usage.capacity().vcpus()).isEqualTo(16);
        assertThat(usage.desktops()).isEqualTo(1);
        assertThat(usage.usedVcpus()).isEqualTo(2);
        assertThat(usage.usedMemoryMb()).isGreaterThanOrEqualTo(2048);
        assertThat(fake.calls).contains("host.get_all_records", "host.compute_free_memory", "VM.get_all_records");
    }

    @Test
    void powerOnGivesAGuestIpForRdpAndPowerOffStopsIt() throws Exception {
        String name = provisioned(name());
        TaskRef on = await(driver.powerOn(name));
        assertThat(on.taskId()).contains("OpaqueRef:");
        assertThat(finish(driver, on).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(power(name)).isEqualTo(VmInfo.PowerState.RUNNING);

        Optional<String> ip = await(driver.guestIp(name));
        assertThat(ip).isPresent();
        ConsoleAddress rdp = await(driver.consoleAddress(name, "rdp"));
        assertThat(rdp).isEqualTo(new ConsoleAddress("rdp", ip.get(), 3389));
        assertThatThrownBy(() -> await(driver.consoleAddress(name, "vnc"))).isInstanceOf(HypervisorException.class)
                .hasMessageContaining("rdp").matches(e -> !((HypervisorException) e).retryable());

        // starting a running VM: XAPI answers VM_BAD_POWER_STATE, which means it is running: done
        assertThat(finish(driver, await(driver.powerOn(name))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);

        assertThat(finish(driver, await(driver.powerOff(name))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(power(name)).isEqualTo(VmInfo.PowerState.STOPPED);
        assertThat(await(driver.guestIp(name))).isEmpty();
    }

    @Test
    void aGuestThatIgnoresCleanShutdownIsPoweredOffHard() throws Exception {
        assumeTrue(fake != null);
        String name = provisioned(name());
        finish(driver, await(driver.powerOn(name)));
        fake.cleanShutdownWorks = false;
        assertThat(finish(driver, await(driver.powerOff(name))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(fake.calls).contains("Async.VM.clean_shutdown", "Async.VM.hard_shutdown");
        assertThat(power(name)).isEqualTo(VmInfo.PowerState.STOPPED);
    }

    @Test
    void revertGoesBackToTheBaseSnapshotWithTheRefreshsNewSecret() throws Exception {
        assumeTrue(fake != null);
        String name = provisioned(name());
        finish(driver, await(driver.powerOn(name)));
        Map<String, Object> vm = fake.vmsNamed(name).get(0);
        String diskBefore = disk(vm);
        // what the guest was given after provisioning outlives the refresh, but for the keys the refresh replaces
        @SuppressWarnings("unchecked")
        Map<String, Object> xenstore = (Map<String, Object>) vm.get("xenstore_data");
        xenstore.put("vm-data/vdi-broker/vdi.desktop-id", "d-1-later");

        TaskRef revert = await(driver.revert(name, Map.of("vdi.agent-secret", "renewed")));
        assertThat(finish(driver, revert).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        vm = fake.vmsNamed(name).get(0);
        assertThat(vm.get("power_state")).isEqualTo("Halted");
        assertThat(disk(vm)).as("a fresh disk from the snapshot").isNotEqualTo(diskBefore);
        assertThat(xs(vm)).containsEntry("vm-data/vdi-broker/vdi.agent-secret", "renewed")
                .containsEntry("vm-data/vdi-broker/vdi.desktop-id", "d-1-later");
        assertThat(fake.calls).contains("Async.VM.hard_shutdown", "Async.VM.revert");
        assertThat(finish(driver, await(driver.powerOn(name))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
    }

    @Test
    void recloneModeDestroysAndClonesAgainWithTheSameNameAndTheRefreshsNewSecret() throws Exception {
        assumeTrue(fake != null);
        driver = driver(Map.of("refresh", "reclone"));
        String name = provisioned(name());
        String before = (String) fake.vmsNamed(name).get(0).get("uuid");
        assertThat(finish(driver, await(driver.revert(name, Map.of("vdi.agent-secret", "renewed")))).state())
                .isEqualTo(TaskStatus.State.SUCCEEDED);
        Map<String, Object> vm = fake.vmsNamed(name).get(0);
        assertThat(vm.get("uuid")).isNotEqualTo(before);
        assertThat(xs(vm)).containsEntry("vm-data/vdi-broker/vdi.agent-secret", "renewed")
                .containsEntry("vm-data/vdi-broker/vdi.desktop-id", "d-1");
        assertThat(fake.vdis).hasSize(2); // the template's disk and the new clone's
    }

    @Test
    void deleteDestroysTheVmItsSnapshotsAndTheirDisks() throws Exception {
        String name = provisioned(name());
        finish(driver, await(driver.powerOn(name)));
        assertThat(finish(driver, await(driver.delete(name))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(await(driver.listVms(name))).isEmpty();
        if (fake != null) {
            assertThat(fake.vms).hasSize(1); // the template alone
            assertThat(fake.vdis).hasSize(1); // the template's disk alone
            assertThat(fake.vbds.values()).allMatch(b -> b.get("VM").equals("OpaqueRef:vm-template"));
        }
        // deleting again: already gone counts as deleted
        assertThat(finish(driver, await(driver.delete(name))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
    }

    @Test
    void deletingByATemplatesNameLeavesTheTemplateAlone() throws Exception {
        assumeTrue(fake != null);
        TaskStatus status = finish(driver, await(driver.delete(FakeXapi.TEMPLATE)));
        assertThat(status.state()).isEqualTo(TaskStatus.State.SUCCEEDED); // a template is no VM: nothing to delete
        assertThat(fake.vms).containsKey("OpaqueRef:vm-template");
    }

    @Test
    void tasksArePollableFromAnotherBrokerNode() throws Exception {
        String name = name();
        TaskRef provision = await(driver.provision(new ProvisionSpec(name, template(), 1, 1024, Map.of())));
        XenServerDriver other = driver(Map.of());
        assertThat(finish(other, provision).state()).as("judged from the VM").isEqualTo(TaskStatus.State.SUCCEEDED);
        TaskRef on = await(driver.powerOn(name));
        assertThat(finish(other, on).state()).as("the XAPI task itself").isEqualTo(TaskStatus.State.SUCCEEDED);
        finish(driver, on); // the task was destroyed by the other node: the VM tells
        assertThat(finish(driver, on).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
    }

    @Test
    void xapiErrorsMapToRetryableFinalAndUnreachable() throws Exception {
        assumeTrue(fake != null);
        // a task failing for lack of memory: retryable
        fake.hostMemory = 1024L * 1024 * 1024;
        String name = provisioned(name());
        TaskStatus noMemory = finish(driver, await(driver.powerOn(name)));
        assertThat(noMemory.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(noMemory.error()).contains("HOST_NOT_ENOUGH_FREE_MEMORY");
        assertThat(noMemory.retryable()).isTrue();
        fake.hostMemory = 64L * 1024 * 1024 * 1024;

        // an unknown template: final
        TaskStatus missing = finish(driver, await(driver.provision(new ProvisionSpec(name(), "no-such-template", 1,
                1024, Map.of()))));
        assertThat(missing.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(missing.retryable()).isFalse();

        // an answer XAPI gave (busy) is retryable but not unreachable; HANDLE_INVALID is final
        fake.failNext("VM.get_all_records", "OTHER_OPERATION_IN_PROGRESS", "VM", "OpaqueRef:x");
        assertThatThrownBy(() -> await(driver.listVms(""))).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.retryable() && !e.unreachable()).isTrue());
        fake.failNext("VM.get_all_records", "HANDLE_INVALID", "VM", "OpaqueRef:x");
        assertThatThrownBy(() -> await(driver.listVms(""))).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(!e.retryable() && !e.unreachable()).isTrue());
        fake.failNext("VM.get_all_records", "VM_BAD_POWER_STATE", "OpaqueRef:x", "halted", "running");
        assertThatThrownBy(() -> await(driver.listVms(""))).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.retryable() && !e.unreachable()).isTrue());

        // silence: unreachable
        fake.close();
        assertThatThrownBy(() -> await(driver.listVms(""))).isInstanceOfSatisfying(HypervisorException.class,
                e -> assertThat(e.unreachable()).as(e.getMessage()).isTrue());
    }

    @Test
    void aWrongPasswordIsAFinalErrorNotSilence() throws Exception {
        assumeTrue(fake != null);
        HypervisorDefinition definition = new HypervisorDefinition("xen-1", "xenserver", fake.url(),
                Map.of("username", FakeXapi.USER), Map.of("password", "wrong"), new HostCapacity(16, 65536, 50));
        XenServerDriver wrong = (XenServerDriver) new XenServerDriverFactory().create(definition);
        extra.add(wrong);
        assertThatThrownBy(() -> await(wrong.listVms(""))).isInstanceOfSatisfying(HypervisorException.class,
                e -> {
                    assertThat(e.unreachable()).isFalse();
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.getMessage()).contains("SESSION_AUTHENTICATION_FAILED").doesNotContain("wrong");
                });
    }

    @Test
    void anExpiredSessionLogsInAgain() throws Exception {
        assumeTrue(fake != null);
        await(driver.listVms(""));
        fake.expireSessions();
        assertThat(await(driver.listVms(""))).isNotNull();
        assertThat(fake.calls.stream().filter("session.login_with_password"::equals).count()).isEqualTo(2);
        // also in the middle of a multi-step operation
        fake.pendingPolls = 3;
        String name = name();
        TaskRef task = await(driver.provision(new ProvisionSpec(name, template(), 1, 1024, Map.of())));
        Thread.sleep(150);
        fake.expireSessions();
        assertThat(finish(driver, task).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
    }

    @Test
    void aPoolMemberNamesItsMasterAndTheDriverFollows() throws Exception {
        assumeTrue(fake != null);
        // the master on 127.0.0.2 and a member on 127.0.0.1, same port (XAPI names the master by address only)
        FakeXapi[] pool = twoHosts();
        try {
            XenServerDriver viaMember = driver("http://127.0.0.1:" + pool[0].port(), Map.of());
            String name = name();
            TaskRef task = await(viaMember.provision(new ProvisionSpec(name, FakeXapi.TEMPLATE, 1, 1024, Map.of())));
            assertThat(finish(viaMember, task).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
            assertThat(pool[0].calls).containsOnly("session.login_with_password");
            assertThat(pool[1].vmsNamed(name)).hasSize(1);
        } finally {
            pool[0].close();
            pool[1].close();
        }
    }

    /** A member (index 0, 127.0.0.1) and its master (index 1, 127.0.0.2) on one free port. */
    private static FakeXapi[] twoHosts() throws IOException {
        for (int attempt = 0; attempt < 20; attempt++) {
            int port;
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.2"))) {
                port = s.getLocalPort();
            }
            FakeXapi master = FakeXapi.master("127.0.0.2", port);
            try {
                return new FakeXapi[] { FakeXapi.slave("127.0.0.1", port, "127.0.0.2"), master };
            } catch (IOException busy) {
                master.close();
            }
        }
        throw new IOException("no port free on both 127.0.0.1 and 127.0.0.2");
    }

    @Test
    void theFactoryChecksTheDefinition() {
        XenServerDriverFactory factory = new XenServerDriverFactory();
        HostCapacity capacity = new HostCapacity(16, 65536, 50);
        assertThatThrownBy(() -> factory.validate(new HypervisorDefinition("x", "xenserver", "xen://nope",
                Map.of("username", "root"), Map.of("password", "p"), capacity)))
                .isInstanceOf(InvalidHypervisorConfigException.class).hasMessageContaining("http");
        assertThatThrownBy(() -> factory.validate(new HypervisorDefinition("x", "xenserver", "https://m",
                Map.of(), Map.of("password", "p"), capacity))).hasMessageContaining("username");
        assertThatThrownBy(() -> factory.validate(new HypervisorDefinition("x", "xenserver", "https://m",
                Map.of("username", "root"), Map.of(), capacity))).hasMessageContaining("password");
        assertThatThrownBy(() -> factory.validate(new HypervisorDefinition("x", "xenserver", "https://m",
                Map.of("username", "root", "refresh", "sometimes"), Map.of("password", "p"), capacity)))
                .hasMessageContaining("revert or reclone");
        assertThatThrownBy(() -> factory.validate(new HypervisorDefinition("x", "xenserver", "https://m",
                Map.of("username", "root", "typo", "1"), Map.of("password", "p"), capacity)))
                .hasMessageContaining("Unknown xenserver property 'typo'");
        factory.validate(new HypervisorDefinition("x", "xenserver", "https://m", Map.of("username", "root",
                "sr", "Local storage", "refresh", "reclone"), Map.of("password", "p"), capacity));
    }

    private VmInfo.PowerState power(String name) throws Exception {
        return await(driver.listVms(name)).get(0).power();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> xs(Map<String, Object> vm) {
        return (Map<String, Object>) vm.get("xenstore_data");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> oc(Map<String, Object> vm) {
        return (Map<String, Object>) vm.get("other_config");
    }

    @SuppressWarnings("unchecked")
    private String disk(Map<String, Object> vm) {
        for (Object vbd : (List<Object>) vm.get("VBDs")) {
            Map<String, Object> b = fake.vbds.get((String) vbd);
            if ("Disk".equals(b.get("type"))) {
                return (String) b.get("VDI");
            }
        }
        return null;
    }
}
