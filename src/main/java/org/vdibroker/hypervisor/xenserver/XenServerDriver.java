package org.vdibroker.hypervisor.xenserver;

import com.xensource.xenapi.Connection;
import com.xensource.xenapi.Host;
import com.xensource.xenapi.SR;
import com.xensource.xenapi.Task;
import com.xensource.xenapi.Types;
import com.xensource.xenapi.VBD;
import com.xensource.xenapi.VDI;
import com.xensource.xenapi.VM;
import com.xensource.xenapi.VMGuestMetrics;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;
import org.vdibroker.hypervisor.ConsoleAddress;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HostUsage;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.ProvisionSpec;
import org.vdibroker.hypervisor.SupportsGuestIp;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.TaskStatus;
import org.vdibroker.hypervisor.VmInfo;
import org.vdibroker.hypervisor.VmInfo.PowerState;

/**
 * Desktops on a XenServer / XCP-ng pool through XAPI. A desktop is a VM cloned (copy-on-write, {@code VM.clone}) or
 * copied to a configured SR ({@code VM.copy}) from the pool's template, provisioned, given its metadata in
 * {@code xenstore_data} under {@code vm-data/vdi-broker/} (where the guest agent reads it) and snapshotted as
 * {@code <name>-base} for refreshes. Every XAPI operation that takes time is an {@code Async.*} call whose task is
 * polled. Power on/off are single XAPI tasks, so {@link #pollTask} reads them from the pool on any broker node;
 * provision, revert and delete chain several tasks on this node, and another node judges them from the VM itself.
 * The VM's name label is its {@code vmRef}, as the broker named it.
 */
public final class XenServerDriver implements HypervisorDriver, SupportsGuestIp {

    private static final Logger LOG = Logger.getLogger(XenServerDriver.class);

    static final String XENSTORE_PREFIX = "vm-data/vdi-broker/";
    static final String MARK_DESKTOP = "vdi-broker.desktop";
    static final String MARK_TEMPLATE = "vdi-broker.template";
    static final String MARK_READY = "vdi-broker.ready";
    static final String BASE_SUFFIX = "-base";
    private static final Pattern VM_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Pattern UUID = Pattern.compile("[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}");
    private static final int RDP_PORT = 3389;
    private static final Duration POLL_AGAIN = Duration.ofMillis(300);
    private static final long TASK_POLL_MS = 100;

    enum Operation {
        PROVISION("provision"), POWER_ON("power-on"), POWER_OFF("power-off"), REVERT("revert"), DELETE("delete");

        final String id;

        Operation(String id) {
            this.id = id;
        }

        static Optional<Operation> byId(String id) {
            return Arrays.stream(values()).filter(o -> o.id.equals(id)).findFirst();
        }
    }

    private final String id;
    private final XenServerSettings settings;
    private final HostCapacity configured;
    private final XapiSession xapi;
    private final ThreadPoolExecutor executor;
    private final Clock clock;
    /** Multi-step operations started on this node, by task id, until they are polled after they ended. */
    private final Map<String, CompletableFuture<Void>> jobs = new ConcurrentHashMap<>();

    XenServerDriver(HypervisorDefinition definition, XenServerSettings settings, Clock clock) {
        this.id = definition.id();
        this.settings = settings;
        this.configured = definition.capacity();
        this.clock = clock;
        this.xapi = new XapiSession(id, settings);
        AtomicInteger threads = new AtomicInteger();
        this.executor = new ThreadPoolExecutor(settings.concurrency(), settings.concurrency(), 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(Math.max(64, settings.concurrency() * 16)), r -> {
                    Thread t = new Thread(r, "xenserver-" + id + "-" + threads.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        executor.allowCoreThreadTimeOut(true);
    }

    @Override
    public CompletionStage<HostUsage> usage() {
        return call("report usage", c -> {
            int cpus = 0;
            long freeMb = 0;
            for (Map.Entry<Host, Host.Record> h : Host.getAllRecords(c).entrySet()) {
                cpus += parseInt(h.getValue().cpuInfo == null ? null : h.getValue().cpuInfo.get("cpu_count"));
                freeMb += h.getKey().computeFreeMemory(c) / (1024 * 1024);
            }
            int usedVcpus = 0;
            long usedMb = 0;
            int desktops = 0;
            for (VM.Record r : VM.getAllRecords(c).values()) {
                if (!isVm(r)) {
                    continue;
                }
                if (r.otherConfig != null && r.otherConfig.containsKey(MARK_DESKTOP)) {
                    desktops++;
                }
                if (r.powerState == Types.VmPowerState.RUNNING) {
                    usedVcpus += r.VCPUsAtStartup == null ? 0 : r.VCPUsAtStartup.intValue();
                    usedMb += r.memoryStaticMax == null ? 0 : r.memoryStaticMax / (1024 * 1024);
                }
            }
            long totalMb = configured == null ? usedMb + freeMb : configured.memoryMb();
            int maxDesktops = configured == null ? Integer.MAX_VALUE : configured.maxDesktops();
            // what the VMs were given, or what the hosts have in use, whichever is more
            return new HostUsage(new HostCapacity(cpus, totalMb, maxDesktops), usedVcpus,
                    Math.max(usedMb, totalMb - freeMb), desktops);
        });
    }

    @Override
    public CompletionStage<List<VmInfo>> listVms(String namePrefix) {
        String prefix = namePrefix == null ? "" : namePrefix;
        return call("list VMs", c -> {
            List<VmInfo> vms = new ArrayList<>();
            for (VM.Record r : VM.getAllRecords(c).values()) {
                if (isVm(r) && r.nameLabel != null && r.nameLabel.startsWith(prefix)) {
                    vms.add(new VmInfo(r.nameLabel, r.nameLabel, power(r.powerState),
                            r.VCPUsAtStartup == null ? 0 : r.VCPUsAtStartup.intValue(),
                            r.memoryStaticMax == null ? 0 : r.memoryStaticMax / (1024 * 1024)));
                }
            }
            vms.sort(Comparator.comparing(VmInfo::name));
            return vms;
        });
    }

    @Override
    public CompletionStage<TaskRef> provision(ProvisionSpec spec) {
        if (spec.name() == null || !VM_NAME.matcher(spec.name()).matches()) {
            return failed("Cannot provision " + spec + " on hypervisor " + id
                    + ": a VM name is 1-64 letters, digits, '.', '_' or '-'", false);
        }
        if (spec.templateRef() == null || spec.templateRef().isBlank() || spec.vcpus() < 1 || spec.memoryMb() < 1) {
            return failed("Cannot provision " + spec + " on hypervisor " + id
                    + ": it needs a template (name label or UUID of a XAPI template), vcpus and memory", false);
        }
        return job(Operation.PROVISION, spec.name(), () -> create(spec.name(), spec.templateRef(), spec.vcpus(),
                spec.memoryMb(), spec.metadata()));
    }

    @Override
    public CompletionStage<TaskRef> powerOn(String vmRef) {
        return call("start VM " + vmRef, c -> {
            VM vm = find(c, vmRef);
            Task task = vm.startAsync(c, false, false);
            return new TaskRef(id, Operation.POWER_ON.id + ":" + vmRef + ":0:" + task.toWireString(), vmRef);
        });
    }

    /** Asks the guest to shut down; {@link #pollTask} powers it off hard once the shutdown timeout passed. */
    @Override
    public CompletionStage<TaskRef> powerOff(String vmRef) {
        long deadline = clock.millis() + settings.shutdownTimeout().toMillis();
        return call("shut down VM " + vmRef, c -> {
            VM vm = find(c, vmRef);
            Task task = vm.cleanShutdownAsync(c);
            return new TaskRef(id, Operation.POWER_OFF.id + ":" + vmRef + ":" + deadline + ":" + task.toWireString(),
                    vmRef);
        });
    }

    /**
     * Powers the VM off and brings it back to its base snapshot (or re-clones it); its metadata stays, but for the
     * keys of {@code guestMetadata} (a new agent secret), whose values replace the old ones in xenstore_data.
     */
    @Override
    public CompletionStage<TaskRef> revert(String vmRef, Map<String, String> guestMetadata) {
        Map<String, String> replaced = Map.copyOf(guestMetadata);
        return job(Operation.REVERT, vmRef, () -> {
            if (settings.refresh() == XenServerSettings.Refresh.RECLONE) {
                reclone(vmRef, replaced);
            } else {
                revertToBase(vmRef, replaced);
            }
        });
    }

    /** Destroys the VM, its snapshots and their disks (VDIs); a VM already gone counts as deleted. */
    @Override
    public CompletionStage<TaskRef> delete(String vmRef) {
        return job(Operation.DELETE, vmRef, () -> destroy(vmRef));
    }

    @Override
    public CompletionStage<TaskStatus> pollTask(TaskRef task) {
        if (task == null || !id.equals(task.hypervisorId()) || task.taskId() == null) {
            return failed("Task " + task + " does not belong to hypervisor " + id, false);
        }
        // operation:vm:deadline[:OpaqueRef:...]
        String[] parts = task.taskId().split(":", 4);
        Optional<Operation> operation = parts.length >= 3 ? Operation.byId(parts[0]) : Optional.empty();
        if (operation.isEmpty() || !VM_NAME.matcher(parts[1]).matches()) {
            return failed("No task " + task.taskId() + " on hypervisor " + id, false);
        }
        String vm = parts[1];
        long deadline = parseLong(parts[2]);
        if (parts.length == 4) {
            return call("check the task of VM " + vm, c -> xapiTask(c, operation.get(), vm, deadline, parts[3]));
        }
        CompletableFuture<Void> job = jobs.get(task.taskId());
        if (job != null) {
            if (!job.isDone()) {
                return CompletableFuture.completedFuture(TaskStatus.running(POLL_AGAIN));
            }
            jobs.remove(task.taskId(), job);
            if (job.isCompletedExceptionally()) {
                HypervisorException e = XapiErrors.map(id, operation.get().id + " VM " + vm,
                        unwrap(job.handle((x, t) -> t).join()));
                return CompletableFuture.completedFuture(TaskStatus.failed(e.getMessage(), e.retryable()));
            }
            return CompletableFuture.completedFuture(TaskStatus.succeeded(vm));
        }
        return call("check " + operation.get().id + " of VM " + vm, c -> fromVm(c, operation.get(), vm, deadline));
    }

    /** A single XAPI task (power on/off): its status from the pool, readable from any broker node. */
    private TaskStatus xapiTask(Connection c, Operation operation, String vm, long deadline, String ref)
            throws Exception {
        Task task = Types.toTask(ref);
        Types.TaskStatusType status;
        try {
            status = task.getStatus(c);
        } catch (Types.HandleInvalid e) {
            // already read and destroyed by another poll, or the master restarted: the VM tells
            return fromVm(c, operation, vm, deadline);
        }
        if (status == Types.TaskStatusType.PENDING || status == Types.TaskStatusType.CANCELLING) {
            if (operation == Operation.POWER_OFF && clock.millis() >= deadline) {
                LOG.infof("Hypervisor %s: VM %s did not shut down in %s; powering it off", id, vm,
                        settings.shutdownTimeout());
                hardShutdown(c, find(c, vm));
                return TaskStatus.succeeded(vm);
            }
            return TaskStatus.running(POLL_AGAIN);
        }
        List<String> error = status == Types.TaskStatusType.SUCCESS ? List.of() : new ArrayList<>(task.getErrorInfo(c));
        forget(c, task);
        if (error.isEmpty()) {
            return TaskStatus.succeeded(vm);
        }
        Types.VmPowerState power = find(c, vm).getPowerState(c);
        if (operation == Operation.POWER_ON && power == Types.VmPowerState.RUNNING) {
            return TaskStatus.succeeded(vm); // it was running already
        }
        if (operation == Operation.POWER_OFF) {
            if (power != Types.VmPowerState.HALTED) {
                hardShutdown(c, find(c, vm)); // the guest refused a clean shutdown (no PV drivers, ...)
            }
            return TaskStatus.succeeded(vm);
        }
        return TaskStatus.failed("Hypervisor " + id + " could not start VM " + vm + ": " + String.join(" ", error),
                XapiErrors.retryable(error));
    }

    /** The state of an operation judged from the VM: a task started on another node, or one XAPI forgot. */
    private TaskStatus fromVm(Connection c, Operation operation, String vm, long deadline) throws Exception {
        Optional<VM.Record> found = record(c, vm);
        boolean late = deadline > 0 && clock.millis() >= deadline;
        if (found.isEmpty()) {
            if (operation == Operation.DELETE) {
                return TaskStatus.succeeded(vm);
            }
            return operation == Operation.PROVISION && !late ? TaskStatus.running(POLL_AGAIN)
                    : TaskStatus.failed("VM " + vm + " does not exist on hypervisor " + id, operation
                            == Operation.PROVISION);
        }
        VM.Record r = found.get();
        boolean ready = r.otherConfig != null && "true".equals(r.otherConfig.get(MARK_READY));
        boolean done = switch (operation) {
            case PROVISION -> ready;
            case REVERT, POWER_OFF -> ready && r.powerState == Types.VmPowerState.HALTED;
            case POWER_ON -> r.powerState == Types.VmPowerState.RUNNING;
            case DELETE -> false;
        };
        if (done) {
            return TaskStatus.succeeded(vm);
        }
        return late ? TaskStatus.failed(operation.id + " of VM " + vm + " did not finish on hypervisor " + id, true)
                : TaskStatus.running(POLL_AGAIN);
    }

    @Override
    public CompletionStage<ConsoleAddress> consoleAddress(String vmRef, String protocol) {
        String name = protocol == null ? "" : protocol.toLowerCase(Locale.ROOT);
        if (name.equals("rdp")) {
            return guestIp(vmRef).thenApply(ip -> ip.map(a -> new ConsoleAddress("rdp", a, RDP_PORT))
                    .orElseThrow(() -> new HypervisorException("VM " + vmRef + " on hypervisor " + id
                            + " reports no guest IP address yet (not running, or no guest tools)", true)));
        }
        // XAPI consoles are RFB inside an HTTP CONNECT to the host's console URL with a XAPI session: no VNC
        // client opens that, and handing out a session would hand out the broker's XAPI rights
        return failed("Protocol '" + protocol + "' is not offered by hypervisor " + id
                + ": XenServer desktops are reached over rdp (XAPI consoles need an HTTP CONNECT with a XAPI session)",
                false);
    }

    /** The first IPv4 address the guest tools report in {@code VM_guest_metrics.networks} ({@code 0/ip}, ...). */
    @Override
    public CompletionStage<Optional<String>> guestIp(String vmRef) {
        return call("find the guest IP of VM " + vmRef, c -> {
            VM vm = find(c, vmRef);
            VMGuestMetrics metrics = vm.getGuestMetrics(c);
            if (metrics == null || isNull(metrics.toWireString())) {
                return Optional.empty();
            }
            Map<String, String> networks = new TreeMap<>(metrics.getNetworks(c));
            return networks.entrySet().stream()
                    .filter(e -> e.getKey().endsWith("/ip") && e.getValue().matches("[0-9.]+"))
                    .map(Map.Entry::getValue).findFirst();
        });
    }

    @Override
    public void close() {
        executor.shutdownNow();
        xapi.logout();
    }

    // ---- the steps of the multi-step operations, each XAPI call through the session (re-login, master moves)

    private void create(String name, String templateRef, long vcpus, long memoryMb, Map<String, String> metadata)
            throws Exception {
        if (xapi.call(c -> record(c, name)).isPresent()) {
            throw new HypervisorException("Cannot provision VM " + name + " on hypervisor " + id
                    + ": a VM of that name exists", false);
        }
        VM template = xapi.call(c -> template(c, templateRef));
        Task copy = xapi.call(c -> settings.sr() == null ? template.createCloneAsync(c, name)
                : template.copyAsync(c, name, sr(c)));
        VM vm = Types.toVM(result(copy));
        try {
            xapi.call(c -> {
                vm.addToOtherConfig(c, MARK_DESKTOP, "true");
                vm.addToOtherConfig(c, MARK_TEMPLATE, templateRef);
                vm.removeFromOtherConfig(c, MARK_READY);
                return null;
            });
            await(xapi.call(vm::provisionAsync));
            xapi.call(c -> {
                vm.setIsATemplate(c, false);
                size(c, vm, vcpus, memoryMb);
                for (Map.Entry<String, String> m : new TreeMap<>(metadata).entrySet()) {
                    vm.removeFromXenstoreData(c, XENSTORE_PREFIX + m.getKey());
                    vm.addToXenstoreData(c, XENSTORE_PREFIX + m.getKey(), m.getValue());
                }
                return null;
            });
            if (settings.refresh() == XenServerSettings.Refresh.REVERT) {
                await(xapi.call(c -> vm.snapshotAsync(c, name + BASE_SUFFIX)));
            }
            xapi.call(c -> {
                vm.addToOtherConfig(c, MARK_READY, "true");
                return null;
            });
        } catch (Exception e) {
            LOG.infof("Hypervisor %s: provisioning of VM %s failed (%s); removing what was made", id, name,
                    e.getMessage());
            try {
                destroy(name);
            } catch (Exception cleanup) {
                LOG.debugf("Hypervisor %s: cleanup of VM %s failed: %s", id, name, cleanup.getMessage());
            }
            throw e;
        }
    }

    private void revertToBase(String name, Map<String, String> replaced) throws Exception {
        VM vm = xapi.call(c -> ours(c, name, "revert"));
        stop(vm);
        Map<String, String> keep = new HashMap<>(xapi.call(c -> agentData(vm.getXenstoreData(c))));
        replaced.forEach((k, v) -> keep.put(XENSTORE_PREFIX + k, v));
        VM base = xapi.call(c -> {
            for (VM s : vm.getSnapshots(c)) {
                if ((name + BASE_SUFFIX).equals(s.getNameLabel(c))) {
                    return s;
                }
            }
            throw new HypervisorException("Cannot revert VM " + name + " on hypervisor " + id + ": its snapshot "
                    + name + BASE_SUFFIX + " is gone", false);
        });
        await(xapi.call(base::revertAsync));
        // what the guest was last given, with this refresh's new values (its new agent secret), outlives the revert
        xapi.call(c -> {
            Map<String, String> now = vm.getXenstoreData(c);
            for (Map.Entry<String, String> k : keep.entrySet()) {
                if (!k.getValue().equals(now.get(k.getKey()))) {
                    vm.removeFromXenstoreData(c, k.getKey());
                    vm.addToXenstoreData(c, k.getKey(), k.getValue());
                }
            }
            vm.addToOtherConfig(c, MARK_READY, "true");
            return null;
        });
    }

    private void reclone(String name, Map<String, String> replaced) throws Exception {
        VM vm = xapi.call(c -> ours(c, name, "revert"));
        VM.Record r = xapi.call(vm::getRecord);
        String template = r.otherConfig.get(MARK_TEMPLATE);
        if (template == null) {
            throw new HypervisorException("Cannot re-clone VM " + name + " on hypervisor " + id
                    + ": it does not say which template it came from", false);
        }
        Map<String, String> metadata = new HashMap<>();
        agentData(r.xenstoreData).forEach((k, v) -> metadata.put(k.substring(XENSTORE_PREFIX.length()), v));
        metadata.putAll(replaced);
        destroy(name);
        create(name, template, r.VCPUsAtStartup, r.memoryStaticMax / (1024 * 1024), metadata);
    }

    private void destroy(String name) throws Exception {
        List<VM> vms = xapi.call(c -> {
            List<VM> found = new ArrayList<>();
            for (VM vm : VM.getByNameLabel(c, name)) {
                VM.Record r = vm.getRecord(c);
                if (isVm(r)) {
                    if (r.otherConfig == null || !r.otherConfig.containsKey(MARK_DESKTOP)) {
                        throw notOurs(name, "delete");
                    }
                    found.add(vm);
                }
            }
            return found;
        });
        for (VM vm : vms) {
            stop(vm);
            for (VM snapshot : xapi.call(vm::getSnapshots)) {
                destroyWithDisks(snapshot);
            }
            destroyWithDisks(vm);
        }
    }

    /** VM.destroy leaves the disks: their VDIs are destroyed after it. */
    private void destroyWithDisks(VM vm) throws Exception {
        List<VDI> disks = xapi.call(c -> {
            List<VDI> vdis = new ArrayList<>();
            for (VBD vbd : vm.getVBDs(c)) {
                VBD.Record b = vbd.getRecord(c);
                if (b.type == Types.VbdType.DISK && b.VDI != null && !isNull(b.VDI.toWireString())) {
                    vdis.add(b.VDI);
                }
            }
            return vdis;
        });
        await(xapi.call(vm::destroyAsync));
        for (VDI vdi : disks) {
            try {
                await(xapi.call(vdi::destroyAsync));
            } catch (HypervisorException e) {
                if (!e.getMessage().contains("HANDLE_INVALID")) {
                    throw e;
                }
            }
        }
    }

    private void stop(VM vm) throws Exception {
        if (xapi.call(vm::getPowerState) != Types.VmPowerState.HALTED) {
            xapi.call(c -> {
                hardShutdown(c, vm);
                return null;
            });
        }
    }

    private void hardShutdown(Connection c, VM vm) throws Exception {
        Task task = vm.hardShutdownAsync(c);
        try {
            awaitOn(c, task);
        } catch (HypervisorException e) {
            if (vm.getPowerState(c) != Types.VmPowerState.HALTED) {
                throw e;
            }
        }
    }

    /** VCPUs and memory as the pool asks; the order of the VCPU calls keeps at_startup within max. */
    private static void size(Connection c, VM vm, long vcpus, long memoryMb) throws Exception {
        long bytes = memoryMb * 1024 * 1024;
        vm.setMemoryLimits(c, bytes, bytes, bytes, bytes);
        if (vcpus < vm.getVCPUsAtStartup(c)) {
            vm.setVCPUsAtStartup(c, vcpus);
            vm.setVCPUsMax(c, vcpus);
        } else {
            vm.setVCPUsMax(c, vcpus);
            vm.setVCPUsAtStartup(c, vcpus);
        }
    }

    private String result(Task task) throws Exception {
        String value = await(task);
        // XAPI hands a task's result as an XML-RPC value: <value>OpaqueRef:...</value>
        return value == null ? null : value.replaceAll("</?value>", "").trim();
    }

    private String await(Task task) throws Exception {
        return xapi.call(c -> awaitOn(c, task));
    }

    /** Polls a XAPI task until it ends (up to the task timeout); its result, or its error as an exception. */
    private String awaitOn(Connection c, Task task) throws Exception {
        long until = clock.millis() + settings.taskTimeout().toMillis();
        while (true) {
            Types.TaskStatusType status = task.getStatus(c);
            if (status == Types.TaskStatusType.SUCCESS) {
                String result = task.getResult(c);
                forget(c, task);
                return result;
            }
            if (status == Types.TaskStatusType.FAILURE || status == Types.TaskStatusType.CANCELLED) {
                List<String> error = new ArrayList<>(task.getErrorInfo(c));
                forget(c, task);
                throw new HypervisorException("Hypervisor " + id + ": " + String.join(" ", error),
                        XapiErrors.retryable(error));
            }
            if (clock.millis() >= until) {
                throw new HypervisorException("Hypervisor " + id + ": a task did not end in "
                        + settings.taskTimeout(), true);
            }
            Thread.sleep(TASK_POLL_MS);
        }
    }

    private void forget(Connection c, Task task) {
        try {
            task.destroy(c);
        } catch (Exception e) {
            LOG.debugf("Hypervisor %s: task not destroyed: %s", id, e.getMessage());
        }
    }

    private VM template(Connection c, String ref) throws Exception {
        if (UUID.matcher(ref).matches()) {
            try {
                return VM.getByUuid(c, ref);
            } catch (Types.UuidInvalid e) {
                throw new HypervisorException("No template with UUID " + ref + " on hypervisor " + id, false);
            }
        }
        for (VM vm : VM.getByNameLabel(c, ref)) {
            return vm;
        }
        throw new HypervisorException("No template named '" + ref + "' on hypervisor " + id, false);
    }

    private SR sr(Connection c) throws Exception {
        String ref = settings.sr();
        if (UUID.matcher(ref).matches()) {
            return SR.getByUuid(c, ref);
        }
        for (SR sr : SR.getByNameLabel(c, ref)) {
            return sr;
        }
        throw new HypervisorException("No storage repository named '" + ref + "' on hypervisor " + id, false);
    }

    /** The VM (not template, not snapshot) named {@code name}. */
    private VM find(Connection c, String name) throws Exception {
        for (VM vm : VM.getByNameLabel(c, name)) {
            if (isVm(vm.getRecord(c))) {
                return vm;
            }
        }
        throw new HypervisorException("No VM " + name + " on hypervisor " + id, false);
    }

    private Optional<VM.Record> record(Connection c, String name) throws Exception {
        for (VM vm : VM.getByNameLabel(c, name)) {
            VM.Record r = vm.getRecord(c);
            if (isVm(r)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    private VM ours(Connection c, String name, String what) throws Exception {
        VM vm = find(c, name);
        Map<String, String> other = vm.getOtherConfig(c);
        if (other == null || !other.containsKey(MARK_DESKTOP)) {
            throw notOurs(name, what);
        }
        return vm;
    }

    private HypervisorException notOurs(String name, String what) {
        return new HypervisorException("Will not " + what + " VM " + name + " on hypervisor " + id
                + ": the broker did not make it", false);
    }

    private static Map<String, String> agentData(Map<String, String> xenstore) {
        Map<String, String> keep = new TreeMap<>();
        if (xenstore != null) {
            xenstore.forEach((k, v) -> {
                if (k.startsWith(XENSTORE_PREFIX)) {
                    keep.put(k, v);
                }
            });
        }
        return keep;
    }

    private static boolean isVm(VM.Record r) {
        return r != null && !Boolean.TRUE.equals(r.isATemplate) && !Boolean.TRUE.equals(r.isASnapshot)
                && !Boolean.TRUE.equals(r.isControlDomain);
    }

    private static boolean isNull(String ref) {
        return ref == null || ref.isEmpty() || ref.equals("OpaqueRef:NULL");
    }

    private static PowerState power(Types.VmPowerState state) {
        if (state == null) {
            return PowerState.UNKNOWN;
        }
        return switch (state) {
            case RUNNING -> PowerState.RUNNING;
            case HALTED -> PowerState.STOPPED;
            case SUSPENDED, PAUSED -> PowerState.SUSPENDED;
            default -> PowerState.UNKNOWN;
        };
    }

    // ---- running calls on this hypervisor's threads

    private interface Step {
        void run() throws Exception;
    }

    /** Runs a multi-step operation in the background; the task id names operation, VM and deadline. */
    private CompletionStage<TaskRef> job(Operation operation, String vm, Step step) {
        if (vm == null || !VM_NAME.matcher(vm).matches()) {
            return failed("No VM " + vm + " on hypervisor " + id, false);
        }
        long deadline = clock.millis() + settings.taskTimeout().toMillis() + settings.callTimeout().toMillis();
        String taskId = operation.id + ":" + vm + ":" + deadline;
        CompletableFuture<Void> job = new CompletableFuture<>();
        jobs.put(taskId, job);
        try {
            executor.execute(() -> {
                try {
                    step.run();
                    job.complete(null);
                } catch (Throwable e) {
                    job.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            jobs.remove(taskId);
            return failed("Hypervisor " + id + " is busy: too many operations queued", true);
        }
        return CompletableFuture.completedFuture(new TaskRef(id, taskId, vm));
    }

    private <T> CompletionStage<T> call(String what, XapiSession.Call<T> call) {
        try {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return xapi.call(call);
                } catch (Exception e) {
                    throw XapiErrors.map(id, what, e);
                }
            }, executor).orTimeout(settings.callTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .exceptionallyCompose(e -> CompletableFuture.failedFuture(XapiErrors.map(id, what, unwrap(e))));
        } catch (RejectedExecutionException e) {
            return failed("Hypervisor " + id + " is busy: too many operations queued", true);
        }
    }

    private static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof java.util.concurrent.CompletionException
                || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static <T> CompletionStage<T> failed(String message, boolean retryable) {
        return CompletableFuture.failedFuture(new HypervisorException(message, retryable));
    }

    private static int parseInt(String value) {
        try {
            return value == null ? 0 : Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static long parseLong(String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
