package org.vdibroker.hypervisor.vsphere;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
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
import org.vdibroker.hypervisor.VmInfo.PowerState;
import org.w3c.dom.Element;

/**
 * The vSphere driver against VMware's vSphere API simulator (vcsim, built by .ci/install-vcsim.sh): every operation
 * of the driver contract, the fault mappings, a session terminated behind the driver's back, a VM deleted behind its
 * back, the simulator going away and coming back, and TLS trust. Never skipped: without the launcher they fail.
 */
class VsphereDriverTest {

    private static Vcsim vcsim;
    private final VsphereDriverFactory factory = new VsphereDriverFactory();
    private final List<VsphereDriver> drivers = new ArrayList<>();

    @BeforeAll
    static void startVcsim() {
        vcsim = Vcsim.start();
        vcsim.createFolder("vdi");
        vcsim.snapshotTemplate();
    }

    @AfterAll
    static void stopVcsim() {
        if (vcsim != null) {
            vcsim.close();
        }
    }

    @AfterEach
    void closeDrivers() {
        drivers.forEach(VsphereDriver::close);
    }

    private VsphereDriver driver(Map<String, String> extra) {
        return driver(vcsim.url(), extra, Map.of("username", Vcsim.USER, "password", Vcsim.PASSWORD));
    }

    private VsphereDriver driver(String url, Map<String, String> extra, Map<String, String> credentials) {
        HypervisorDefinition definition = definition(url, extra, credentials);
        factory.validate(definition);
        VsphereDriver driver = (VsphereDriver) factory.create(definition);
        drivers.add(driver);
        return driver;
    }

    private static HypervisorDefinition definition(Map<String, String> extra) {
        return definition(vcsim.url(), extra, Map.of("username", Vcsim.USER, "password", Vcsim.PASSWORD));
    }

    private static HypervisorDefinition definition(String url, Map<String, String> extra,
            Map<String, String> credentials) {
        Map<String, String> config = new HashMap<>(Map.of("datacenter", "DC0", "cluster", "DC0_C0", "vmFolder", "vdi",
                "callTimeoutMs", "3000", "taskPollMs", "100", "shutdownTimeoutMs", "300"));
        config.putAll(extra);
        return new HypervisorDefinition("vc1", "vsphere", url, config, credentials, new HostCapacity(48, 96_000, 50));
    }

    private static ProvisionSpec spec(String name) {
        return new ProvisionSpec(name, Vcsim.TEMPLATE, 2, 2048,
                Map.of("vdi.desktop-id", "id-" + name, "vdi.agent-secret", "s3cret-" + name));
    }

    /** Polls until the task ends, as the pool manager does. */
    private static TaskStatus finish(VsphereDriver driver, TaskRef task) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            TaskStatus status = Vcsim.join(driver.pollTask(task));
            if (status.state() != TaskStatus.State.RUNNING) {
                return status;
            }
            sleep(status.retryAfter().toMillis());
        }
        throw new AssertionError("task " + task + " did not end");
    }

    private static String provisioned(VsphereDriver driver, String name) {
        TaskStatus done = finish(driver, Vcsim.join(driver.provision(spec(name))));
        assertThat(done.state()).as(done.error()).isEqualTo(TaskStatus.State.SUCCEEDED);
        return done.vmRef();
    }

    private static VmInfo vm(VsphereDriver driver, String name) {
        return Vcsim.join(driver.listVms(name)).stream().filter(v -> v.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no VM " + name));
    }

    private static HypervisorException failure(CompletionStage<?> stage) {
        try {
            Vcsim.join(stage);
        } catch (HypervisorException e) {
            return e;
        }
        throw new AssertionError("the call did not fail");
    }

    @Test
    void provisionMakesALinkedCloneWithTheAgentSecretAndABaseSnapshotPollableFromAnotherNode() {
        VsphereDriver driver = driver(Map.of());
        TaskRef task = Vcsim.join(driver.provision(spec("desk-a")));
        assertThat(task.taskId()).startsWith("clone:");

        // another broker node polls the same task with a driver of its own
        VsphereDriver otherNode = driver(Map.of());
        TaskStatus done = finish(otherNode, task);
        assertThat(done.state()).as(done.error()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(finish(driver, task).vmRef()).isEqualTo(done.vmRef());

        VmInfo info = vm(driver, "desk-a");
        assertThat(info.vmRef()).isEqualTo(done.vmRef());
        assertThat(info.power()).isEqualTo(PowerState.STOPPED);

        VimClient.ObjectContent seen = vcsim.vms("desk-a").get(0);
        Map<String, String> extra = new HashMap<>();
        for (Element option : Xml.children(seen.prop("config.extraConfig"), null)) {
            extra.put(Xml.text(option, "key"), Xml.text(option, "value"));
        }
        assertThat(extra).containsEntry("guestinfo.vdi.agent-secret", "s3cret-desk-a")
                .containsEntry("guestinfo.vdi.desktop-id", "id-desk-a");
        // exactly one base snapshot, although two nodes polled the finished clone
        long bases = Xml.children(seen.prop("snapshot"), "rootSnapshotList").stream()
                .filter(s -> VsphereDriver.BASE_SNAPSHOT.equals(Xml.text(s, "name"))).count();
        assertThat(bases).isEqualTo(1);
        assertThat(driver).isInstanceOf(org.vdibroker.hypervisor.SupportsLinkedClone.class);
    }

    @Test
    void powerOnConnectPowerOffRevertAndDelete() {
        VsphereDriver driver = driver(Map.of());
        String vm = provisioned(driver, "desk-b");

        assertThat(finish(driver, Vcsim.join(driver.powerOn(vm))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(vm(driver, "desk-b").power()).isEqualTo(PowerState.RUNNING);
        // powering on a running VM is done at once, not an InvalidPowerState
        assertThat(finish(driver, Vcsim.join(driver.powerOn(vm))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        // nor is a start that read the power state while an earlier start still ran (vcsim ends its tasks before it
        // answers, so that task is made here): vSphere fails it with InvalidPowerState, the VM runs, it is done
        String late = Xml.text(vcsim.adminCall("PowerOnVM_Task", new Mor("VirtualMachine", vm), ""), "returnval");
        assertThat(Vcsim.join(driver.pollTask(new TaskRef("vc1", "task:" + late + ":" + vm, vm))))
                .isEqualTo(TaskStatus.succeeded(vm));

        // RDP goes to the guest IP VMware Tools report; until there is one, the error is retryable
        vcsim.setGuestIp(vm, "192.0.2.17");
        assertThat(Vcsim.join(driver.guestIp(vm))).contains("192.0.2.17");
        assertThat(Vcsim.join(driver.consoleAddress(vm, "rdp"))).isEqualTo(new ConsoleAddress("rdp", "192.0.2.17",
                3389));
        String vmrc = Vcsim.join(driver.consoleUrl(vm, "vmrc"));
        assertThat(vmrc).matches("vmrc://clone:[^@]+@127\\.0\\.0\\.1:\\d+/\\?moid=" + vm);
        assertThat(Vcsim.join(driver.consoleAddress(vm, "vmrc")).protocol()).isEqualTo("vmrc");
        assertThat(failure(driver.consoleAddress(vm, "spice")).retryable()).isFalse();

        // shutdown: guest shutdown or hard power-off, either way the task ends with the VM off
        assertThat(finish(driver, Vcsim.join(driver.powerOff(vm))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(vm(driver, "desk-b").power()).isEqualTo(PowerState.STOPPED);

        // refresh of a running desktop: powered off, reverted to its base snapshot
        finish(driver, Vcsim.join(driver.powerOn(vm)));
        TaskRef revert = Vcsim.join(driver.revert(vm, Map.of("vdi.agent-secret", "renewed")));
        TaskStatus reverted = finish(driver, revert);
        assertThat(reverted.state()).as(reverted.error()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(reverted.vmRef()).isEqualTo(vm);
        assertThat(vm(driver, "desk-b").power()).isEqualTo(PowerState.STOPPED);
        VimClient.ObjectContent seen = vcsim.vms("desk-b").get(0);
        Mor base = VsphereDriver.baseSnapshot(seen.prop("snapshot")).orElseThrow();
        assertThat(Xml.text(seen.prop("snapshot"), "currentSnapshot")).isEqualTo(base.value());
        // the refresh's new agent secret is in the guestinfo after the revert, the desktop id still there
        assertThat(VsphereDriver.metadata(seen.prop("config.extraConfig")))
                .containsEntry("vdi.agent-secret", "renewed").containsKey("vdi.desktop-id");
        // another node never had the new secret (it is held in memory only): it fails the revert as retryable,
        // and the pool manager refreshes again with a new one
        TaskRef elsewhere = Vcsim.join(driver.revert(vm, Map.of("vdi.agent-secret", "lost")));
        TaskStatus lost = finish(driver(Map.of()), elsewhere);
        assertThat(lost.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(lost.retryable()).isTrue();

        // delete of a running desktop powers it off first; deleting it again is done at once
        finish(driver, Vcsim.join(driver.powerOn(vm)));
        TaskStatus deleted = finish(driver, Vcsim.join(driver.delete(vm)));
        assertThat(deleted.state()).as(deleted.error()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(Vcsim.join(driver.listVms("desk-b"))).isEmpty();
        assertThat(vcsim.vms("desk-b")).isEmpty();
        assertThat(finish(driver, Vcsim.join(driver.delete(vm))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
    }

    @Test
    void desktopsAreConnectedToTheConfiguredPortGroupOrDistributedPortGroup() {
        Element templateNic = firstNic(vcsim.find("DC0/vm/" + Vcsim.TEMPLATE).value());
        assertThat(Xml.xsiType(Xml.child(templateNic, "backing").orElseThrow()))
                .isEqualTo("VirtualEthernetCardDistributedVirtualPortBackingInfo"); // vcsim's VMs are on DC0_DVPG0

        // a standard port group
        String vm = provisioned(driver(Map.of("network", "VM Network")), "desk-n1");
        Element nic = firstNic(vm);
        Element backing = Xml.child(nic, "backing").orElseThrow();
        assertThat(Xml.xsiType(backing)).isEqualTo("VirtualEthernetCardNetworkBackingInfo");
        assertThat(Xml.text(backing, "deviceName")).isEqualTo("VM Network");
        assertThat(Xml.text(backing, "network")).isEqualTo(vcsim.find("DC0/network/VM Network").value());
        assertThat(Xml.text(nic, "key")).isEqualTo(Xml.text(templateNic, "key")); // the template's NIC, edited
        assertThat(Xml.text(nic, "macAddress")).isNotBlank().isNotEqualTo(Xml.text(templateNic, "macAddress"));
        assertThat(Xml.text(backing(firstNic(vcsim.find("DC0/vm/" + Vcsim.TEMPLATE).value())), "port/portgroupKey"))
                .as("the template is left as it was").isEqualTo(Xml.text(backing(templateNic), "port/portgroupKey"));

        // a distributed port group other than the template's
        Mor dvs = Xml.mor(Vcsim.join(vcsim.admin().properties(vcsim.find("DC0/network/DC0_DVPG0"),
                "config.distributedVirtualSwitch")).prop("config.distributedVirtualSwitch"));
        vcsim.adminTask("AddDVPortgroup_Task", dvs, "<spec>" + Xml.el("name", "vdi-desktops")
                + Xml.el("type", "earlyBinding") + "</spec>");
        Mor portgroup = vcsim.find("DC0/network/vdi-desktops");
        String onDvpg = provisioned(driver(Map.of("network", "vdi-desktops")), "desk-n2");
        Element dvBacking = backing(firstNic(onDvpg));
        assertThat(Xml.xsiType(dvBacking)).isEqualTo("VirtualEthernetCardDistributedVirtualPortBackingInfo");
        assertThat(Xml.text(dvBacking, "port/portgroupKey")).isEqualTo(portgroup.value())
                .isNotEqualTo(Xml.text(backing(templateNic), "port/portgroupKey"));
        assertThat(Xml.text(dvBacking, "port/switchUuid")).isEqualTo(Xml.text(backing(templateNic),
                "port/switchUuid"));

        // checked before a save: the network exists, the template has a NIC to connect
        assertThat(factory.checkLive(definition(Map.of("network", "vdi-desktops")))).isEmpty();
        assertThat(factory.checkLive(definition(Map.of("network", "no-such-net"))))
                .containsOnlyKeys("config.network");
        assertThat(factory.checkLive(definition(Map.of("vmFolder", "nowhere")))).containsOnlyKeys("config.vmFolder");
        VsphereDriver checking = driver(Map.of("network", "VM Network"));
        assertThat(Vcsim.join(checking.checkTemplate(Vcsim.TEMPLATE, 1, 512))).isEmpty();
        assertThat(Vcsim.join(checking.checkTemplate("no/such/template", 1, 512))).containsOnlyKeys("templateRef");
        assertThat(Vcsim.join(checking.checkTemplate("vdi", 1, 512)).get("templateRef")).contains("not a VM");

        // a network that does not exist: a final error naming it, and nothing cloned
        HypervisorException unknown = failure(driver(Map.of("network", "no-such-net")).provision(spec("desk-n3")));
        assertThat(unknown.getMessage()).contains("network").contains("DC0/network/no-such-net");
        assertThat(unknown.retryable()).isFalse();
        assertThat(vcsim.vms("desk-n3")).isEmpty();
    }

    private static Element firstNic(String vmRef) {
        Element devices = Vcsim.join(vcsim.admin().properties(new Mor("VirtualMachine", vmRef),
                "config.hardware.device")).prop("config.hardware.device");
        return Xml.children(devices, null).stream().filter(d -> Xml.child(d, "macAddress").isPresent()).findFirst()
                .orElseThrow(() -> new AssertionError("VM " + vmRef + " has no NIC"));
    }

    private static Element backing(Element nic) {
        return Xml.child(nic, "backing").orElseThrow();
    }

    @Test
    void refreshByRecloneMakesANewVmOfTheSameNameWithTheDesktopsMetadataAndAnyNodeCanFinishIt() {
        VsphereDriver driver = driver(Map.of("refresh", "reclone"));
        String old = provisioned(driver, "desk-r");
        finish(driver, Vcsim.join(driver.powerOn(old)));

        TaskRef reclone = Vcsim.join(driver.revert(old, Map.of("vdi.agent-secret", "renewed")));
        assertThat(reclone.taskId()).isEqualTo("reclone:desk-r:" + old);
        // this node takes the first steps; another node (a driver of its own) carries the re-clone to its end
        Vcsim.join(driver.pollTask(reclone));
        Vcsim.join(driver.pollTask(reclone));
        assertThat(vcsim.vms("desk-r")).extracting(o -> o.text("name")).containsExactly("desk-r.old");
        // a refresh asked again after a failed step (the pool manager's retry) carries on the same re-clone
        assertThat(Vcsim.join(driver.revert(old, Map.of("vdi.agent-secret", "renewed-again")))).isEqualTo(reclone);
        TaskStatus done = finish(driver(Map.of("refresh", "reclone")), reclone);
        assertThat(done.state()).as(done.error()).isEqualTo(TaskStatus.State.SUCCEEDED);
        String fresh = done.vmRef();
        assertThat(fresh).isNotEqualTo(old);

        assertThat(vcsim.vms("desk-r")).as("the old VM is gone, no '.old' is left").hasSize(1);
        VimClient.ObjectContent seen = vcsim.vms("desk-r").get(0);
        assertThat(seen.obj().value()).isEqualTo(fresh);
        assertThat(seen.text("name")).isEqualTo("desk-r");
        assertThat(seen.text("runtime.powerState")).isEqualTo("poweredOff");
        assertThat(VsphereDriver.baseSnapshot(seen.prop("snapshot"))).isPresent();
        assertThat(VsphereDriver.metadata(seen.prop("config.extraConfig")))
                .containsEntry("vdi.agent-secret", "renewed-again").containsEntry("vdi.desktop-id", "id-desk-r")
                .containsEntry(VsphereDriver.TEMPLATE_METADATA, Vcsim.TEMPLATE);
        assertThat(Vcsim.join(driver.listVms("desk-r"))).extracting(VmInfo::vmRef).containsExactly(fresh);
        assertThat(failure(driver.powerOn(old)).getMessage()).contains("ManagedObjectNotFound");
        // polled again (the pool manager's next tick), it stays done
        assertThat(finish(driver, reclone).vmRef()).isEqualTo(fresh);

        // the new VM refreshes again the same way
        TaskStatus again = finish(driver, Vcsim.join(driver.revert(fresh, Map.of())));
        assertThat(again.state()).as(again.error()).isEqualTo(TaskStatus.State.SUCCEEDED);
        assertThat(again.vmRef()).isNotIn(old, fresh);
        assertThat(vcsim.vms("desk-r")).extracting(o -> o.obj().value()).containsExactly(again.vmRef());
    }

    @Test
    void aVmDeletedBehindItsBackIsGoneFromTheListAndNamedInErrors() {
        VsphereDriver driver = driver(Map.of());
        String vm = provisioned(driver, "desk-c");
        finish(driver, Vcsim.join(driver.powerOn(vm)));
        vcsim.destroy(vm);

        assertThat(Vcsim.join(driver.listVms("desk-c"))).isEmpty();
        HypervisorException e = failure(driver.powerOn(vm));
        assertThat(e.getMessage()).contains("ManagedObjectNotFound");
        assertThat(e.retryable()).isFalse();
        assertThat(e.unreachable()).isFalse();
        assertThat(finish(driver, Vcsim.join(driver.delete(vm))).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
    }

    @Test
    void aSessionTerminatedBehindItsBackIsReplacedWithoutFailingTheCall() {
        VsphereDriver driver = driver(Map.of());
        String vm = provisioned(driver, "desk-s");
        String first = driver.vim().sessionKey();
        assertThat(first).isNotBlank();

        vcsim.adminCall("TerminateSession", Vcsim.join(vcsim.admin().session()).sessionManager(),
                Xml.el("sessionId", first));

        // vcsim answers NotAuthenticated to all but property reads (vCenter to those too): a list needs a view
        assertThat(Vcsim.join(driver.listVms("desk-s"))).extracting(VmInfo::vmRef).containsExactly(vm);
        assertThat(driver.vim().sessionKey()).isNotEqualTo(first);
        assertThat(Vcsim.join(driver.usage()).capacity().vcpus()).isPositive();
    }

    @Test
    void refusedCredentialsAreAFinalErrorOfAHypervisorThatAnswered() {
        VsphereDriver driver = driver(vcsim.url(), Map.of(), Map.of("username", Vcsim.USER, "password", "wrong"));
        HypervisorException e = failure(driver.listVms(""));
        assertThat(e.getMessage()).contains("InvalidLogin").doesNotContain("wrong");
        assertThat(e.retryable()).isFalse();
        assertThat(e.unreachable()).isFalse();
    }

    @Test
    void faultsOfTasksAndCallsAreMappedToRetryableOrFinal() {
        VsphereDriver driver = driver(Map.of());
        String vm = provisioned(driver, "desk-d");
        // a task that fails: powering off a VM that is off is InvalidPowerState, which may work later
        String task = Xml.text(vcsim.adminCall("PowerOffVM_Task", new Mor("VirtualMachine", vm), ""), "returnval");
        TaskStatus status = finish(driver, new TaskRef("vc1", "task:" + task + ":" + vm, vm));
        assertThat(status.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(status.error()).contains("InvalidPowerState");
        assertThat(status.retryable()).isTrue();

        // task ids this driver never made, or of another hypervisor, are final errors
        assertThat(failure(driver.pollTask(new TaskRef("vc1", "shutdown:soon:" + vm, vm))).retryable()).isFalse();
        assertThat(failure(driver.pollTask(new TaskRef("vc2", "task:" + task + ":" + vm, vm))).retryable())
                .isFalse();

        // a template that does not exist is final, and names the path
        HypervisorException missing = failure(driver.provision(new ProvisionSpec("desk-e", "no/such/template", 1, 512,
                Map.of())));
        assertThat(missing.getMessage()).contains("DC0/vm/no/such/template");
        assertThat(missing.retryable()).isFalse();

        // vcsim offers no WebMKS tickets: a clear final error, not a hang
        HypervisorException webmks = failure(driver.webmksUrl(vm));
        assertThat(webmks.getMessage()).contains("does not offer WebMKS consoles").contains("MethodNotFound");
        assertThat(webmks.retryable()).isFalse();
        assertThat(webmks.unreachable()).isFalse();

        // faults vcsim cannot produce, as vCenter sends them
        assertThat(mapped("NoPermission").retryable()).isFalse();
        assertThat(mapped("NoPermission").getMessage()).contains("privilege");
        assertThat(mapped("FileFault").retryable()).isFalse();
        assertThat(mapped("FileLocked").retryable()).isTrue();
        assertThat(mapped("InsufficientResourcesFault").retryable()).isTrue();
        assertThat(mapped("InsufficientMemoryResourcesFault").retryable()).isTrue();
        assertThat(mapped("InvalidPowerState").retryable()).isTrue();
        assertThat(mapped("ManagedObjectNotFound").retryable()).isFalse();
        assertThat(mapped("NotAuthenticated").unreachable()).isTrue();
        assertThat(mapped("InvalidLogin").unreachable()).isFalse();
    }

    /** A SOAP fault document the way vCenter writes one, parsed and mapped. */
    private static HypervisorException mapped(String type) {
        String xml = "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\""
                + " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><soapenv:Fault>"
                + "<faultcode>ServerFaultCode</faultcode><faultstring>refused</faultstring><detail>"
                + "<" + type + (type.endsWith("Fault") ? "" : "Fault") + " xmlns=\"urn:vim25\" xsi:type=\"" + type
                + "\"/></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>";
        try {
            Element body = Xml.children(Xml.parse(xml.getBytes()).getDocumentElement(), "Body").get(0);
            return VsphereErrors.map("vc1", "test", VimClient.fault(Xml.children(body, "Fault").get(0)));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void usageCountsConnectedHostsOutsideMaintenanceAndTheDesktopsInTheFolder() {
        VsphereDriver driver = driver(Map.of());
        HostUsage before = Vcsim.join(driver.usage());
        assertThat(before.capacity().vcpus()).isPositive();
        assertThat(before.capacity().memoryMb()).isPositive();
        provisioned(driver, "desk-f");
        HostUsage after = Vcsim.join(driver.usage());
        assertThat(after.desktops()).isEqualTo(before.desktops() + 1);

        Mor host = vcsim.find("DC0/host/DC0_C0/DC0_C0_H0");
        vcsim.adminTask("EnterMaintenanceMode_Task", host, Xml.el("timeout", 0));
        try {
            HostUsage maintenance = Vcsim.join(driver.usage());
            assertThat(maintenance.capacity().vcpus()).isLessThan(after.capacity().vcpus());
            assertThat(maintenance.usedVcpus()).isGreaterThan(after.usedVcpus());
        } finally {
            vcsim.adminTask("ExitMaintenanceMode_Task", host, Xml.el("timeout", 0));
        }
    }

    @Test
    void aCloneThisNodeStartedButAnotherNodeFinishedCountsOnceInUsage() {
        VsphereDriver starter = driver(Map.of());
        HostUsage before = Vcsim.join(starter.usage());
        TaskRef clone = Vcsim.join(starter.provision(spec("desk-u")));
        HostUsage during = Vcsim.join(starter.usage());
        assertThat(during.usedVcpus()).as("vcsim clones at once: the VM counts as a desktop, not twice")
                .isEqualTo(before.usedVcpus());
        assertThat(during.desktops()).isEqualTo(before.desktops() + 1);

        // the pool's manager moved to another node, which polls the clone to its end; this node never does
        assertThat(finish(driver(Map.of()), clone).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        HostUsage after = Vcsim.join(starter.usage());
        assertThat(after.desktops()).isEqualTo(before.desktops() + 1);
        assertThat(after.usedVcpus()).isEqualTo(before.usedVcpus());
    }

    @Test
    void aStoppedSimulatorIsUnreachableAndServesAgainWhenBack() {
        try (Vcsim own = Vcsim.start()) {
            own.createFolder("vdi");
            VsphereDriver driver = driver(own.url(), Map.of(),
                    Map.of("username", Vcsim.USER, "password", Vcsim.PASSWORD));
            Vcsim.join(driver.usage());
            own.stop();
            HypervisorException e = failure(driver.usage());
            assertThat(e.unreachable()).isTrue();
            own.restart();
            own.createFolder("vdi");
            assertThat(Vcsim.join(driver.usage()).capacity().vcpus()).isPositive();
        }
    }

    @Test
    void tlsTrustsThePinnedCertificateOnly() {
        try (Vcsim tls = Vcsim.start(true, null)) {
            tls.createFolder("vdi");
            Map<String, String> login = Map.of("username", Vcsim.USER, "password", Vcsim.PASSWORD);
            HypervisorException untrusted = failure(driver(tls.url(), Map.of(), login).listVms(""));
            assertThat(untrusted.unreachable()).isTrue();
            assertThat(untrusted.getMessage()).contains("TLS");

            String wrong = "00".repeat(32);
            assertThat(failure(driver(tls.url(), Map.of("certificateSha256", wrong), login).listVms("")).unreachable())
                    .isTrue();
            assertThat(Vcsim.join(driver(tls.url(), Map.of("certificateSha256", tls.certificateSha256()), login)
                    .listVms(""))).isNotNull();
            assertThat(Vcsim.join(driver(tls.url(), Map.of("ignoreTlsErrors", "true"), login).listVms("")))
                    .isNotNull();
        }
    }

    @Test
    void definitionsAreCheckedBeforeTheyAreSaved() {
        Map<String, String> login = Map.of("username", "u", "password", "p");
        assertThatThrownBy(() -> factory.validate(def(Map.of("cluster", "C"), login)))
                .isInstanceOf(InvalidHypervisorConfigException.class).hasMessageContaining("datacenter");
        assertThatThrownBy(() -> factory.validate(def(Map.of("datacenter", "D", "cluster", "C", "host", "H"), login)))
                .hasMessageContaining("exactly one");
        assertThatThrownBy(() -> factory.validate(def(Map.of("datacenter", "D", "cluster", "C", "cloneMode", "x"),
                login))).hasMessageContaining("linked or full");
        assertThatThrownBy(() -> factory.validate(def(Map.of("datacenter", "D", "cluster", "C", "refresh", "rebuild"),
                login))).hasMessageContaining("revert or reclone");
        assertThatThrownBy(() -> factory.validate(def(Map.of("datacenter", "D", "cluster", "C", "clustr", "x"),
                login))).hasMessageContaining("Unknown vsphere property 'clustr'");
        assertThatThrownBy(() -> factory.validate(def(Map.of("datacenter", "D", "cluster", "C",
                "certificateSha256", "abc"), login))).hasMessageContaining("64 hex digits");
        assertThatThrownBy(() -> factory.validate(def(Map.of("datacenter", "D", "cluster", "C"), Map.of())))
                .hasMessageContaining("credentials.username");
        assertThatThrownBy(() -> factory.validate(new HypervisorDefinition("v", "vsphere", "ftp://x/sdk",
                Map.of("datacenter", "D", "cluster", "C"), login, new HostCapacity(1, 1, 1))))
                .hasMessageContaining("https URL");
        factory.validate(def(Map.of("datacenter", "D", "host", "H", "ignoreTlsErrors", "false", "refresh", "reclone",
                "network", "VDI/desktops",
                "certificateSha256", "AB:".repeat(31) + "AB"), login));
    }

    private static HypervisorDefinition def(Map<String, String> config, Map<String, String> credentials) {
        return new HypervisorDefinition("v", "vsphere", "https://vc.example.com/sdk", config, credentials,
                new HostCapacity(1, 1, 1));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(Math.max(10, ms));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
