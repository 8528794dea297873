package org.vdibroker.hypervisor.hyperv;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
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
import org.vdibroker.hypervisor.SupportsLinkedClone;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.TaskStatus;
import org.vdibroker.hypervisor.VmInfo;
import org.vdibroker.hypervisor.VmInfo.PowerState;
import org.vdibroker.hypervisor.hyperv.HyperVSettings.RdpTarget;

/**
 * Desktops on a Windows Server Hyper-V host through WinRM and PowerShell. A desktop is a generation 2 VM on a
 * differencing VHDX of the template's parent disk, with a base checkpoint for refresh; its name is its {@code vmRef}.
 * Every PowerShell call (blocking, through winrm4j) runs on this host's own bounded pool of threads, never the
 * caller's. Long operations run in the background; {@link #pollTask} answers from this node's memory or, for a task
 * another node started, from the VM's state on the host (the task id carries the operation, the VM and a deadline).
 */
public final class HyperVDriver implements HypervisorDriver, SupportsGuestIp, SupportsLinkedClone {

    private static final Logger LOG = Logger.getLogger(HyperVDriver.class);

    private static final Pattern VM_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    /** The parent disk of a template: an absolute Windows path (drive or UNC share) of a .vhdx or .vhd file. */
    private static final Pattern PARENT_DISK = Pattern.compile(
            "(?i)([A-Z]:\\\\|\\\\\\\\)[^<>\"|?*\\r\\n\\x00]*\\.vhdx?");
    private static final int RDP_PORT = 3389;
    private static final Duration POLL_AGAIN = Duration.ofMillis(500);
    private static final ObjectMapper JSON = new ObjectMapper();

    enum Operation {
        PROVISION("provision"), POWER_ON("power-on"), POWER_OFF("power-off"), REVERT("revert"), DELETE("delete");

        final String id;

        Operation(String id) {
            this.id = id;
        }

        static Optional<Operation> byId(String id) {
            for (Operation o : values()) {
                if (o.id.equals(id)) {
                    return Optional.of(o);
                }
            }
            return Optional.empty();
        }
    }

    private final String id;
    private final HyperVSettings settings;
    private final HostCapacity configured;
    private final PowerShell shell;
    private final ThreadPoolExecutor executor;
    private final Clock clock;
    /** Operations started on this node, by task id, until they are polled after they ended. */
    private final Map<String, CompletableFuture<JsonNode>> jobs = new ConcurrentHashMap<>();
    /** Provisions under way on this node: counted in {@link #usage()} until their VM exists. */
    private final Map<String, ProvisionSpec> provisioning = new ConcurrentHashMap<>();

    HyperVDriver(HypervisorDefinition definition, HyperVSettings settings, PowerShell shell, Clock clock) {
        this.id = definition.id();
        this.settings = settings;
        this.configured = definition.capacity();
        this.shell = shell;
        this.clock = clock;
        AtomicInteger threads = new AtomicInteger();
        this.executor = new ThreadPoolExecutor(settings.concurrency(), settings.concurrency(), 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(Math.max(64, settings.concurrency() * 16)), r -> {
                    Thread t = new Thread(r, "hyperv-" + id + "-" + threads.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        executor.allowCoreThreadTimeOut(true);
        // the first WinRM client of a JVM takes seconds to set up: not on a call that the broker's timeout guards
        executor.execute(shell::warmUp);
    }

    @Override
    public CompletionStage<HostUsage> usage() {
        Map<String, ProvisionSpec> coming = new HashMap<>(provisioning);
        return call("report usage", HyperVScripts.usage(), settings.callTimeout(), json -> {
            int desktops = json.path("desktops").asInt();
            int usedVcpus = json.path("usedVcpus").asInt();
            long usedMb = json.path("usedMemoryMb").asLong();
            // clones this node is still making take their room already, so placement does not overfill the host
            for (ProvisionSpec spec : coming.values()) {
                desktops++;
                usedVcpus += spec.vcpus();
                usedMb += spec.memoryMb();
            }
            int maxDesktops = configured == null ? Integer.MAX_VALUE : configured.maxDesktops();
            return new HostUsage(new HostCapacity(json.path("cpus").asInt(), json.path("memoryMb").asLong(),
                    maxDesktops), usedVcpus, usedMb, desktops);
        });
    }

    @Override
    public CompletionStage<List<VmInfo>> listVms(String namePrefix) {
        String prefix = namePrefix == null ? "" : namePrefix;
        return call("list VMs", HyperVScripts.listVms(prefix), settings.callTimeout(), json -> {
            List<VmInfo> vms = new ArrayList<>();
            for (JsonNode vm : json) {
                String name = vm.path("name").asText();
                vms.add(new VmInfo(name, name, power(vm.path("state").asText()), vm.path("cpus").asInt(),
                        vm.path("memoryMb").asLong()));
            }
            vms.sort(Comparator.comparing(VmInfo::name));
            return vms;
        });
    }

    @Override
    public CompletionStage<TaskRef> provision(ProvisionSpec spec) {
        if (spec.name() == null || !VM_NAME.matcher(spec.name()).matches()) {
            return failed("Cannot provision " + spec + " on Hyper-V host " + id
                    + ": a VM name is 1-64 letters, digits, '.', '_' or '-'", false);
        }
        if (spec.templateRef() == null || !PARENT_DISK.matcher(spec.templateRef()).matches()) {
            return failed("Cannot provision " + spec + " on Hyper-V host " + id + ": the template must be the"
                    + " absolute Windows path of a parent .vhdx, e.g. D:\\VDI\\Templates\\win11.vhdx", false);
        }
        if (spec.vcpus() < 1 || spec.memoryMb() < 32) {
            return failed("Cannot provision " + spec + " on Hyper-V host " + id
                    + ": it needs at least 1 vCPU and 32 MB of memory", false);
        }
        String script = HyperVScripts.provision(spec.name(), spec.templateRef(), disk(spec.name(), spec.templateRef()),
                settings.switchName(), spec.vcpus(), spec.memoryMb(), spec.metadata());
        provisioning.put(spec.name(), spec);
        CompletionStage<TaskRef> task = start(Operation.PROVISION, spec.name(), settings.operationTimeout(), script);
        task.whenComplete((t, e) -> {
            CompletableFuture<JsonNode> job = t == null ? null : jobs.get(t.taskId());
            if (job == null) {
                provisioning.remove(spec.name());
            } else {
                job.whenComplete((x, f) -> provisioning.remove(spec.name()));
            }
        });
        return task;
    }

    /**
     * Starts the VM; one that runs already is done, one that is starting (another start in flight) is waited for, up
     * to half the operation timeout (the rest is left for a Start-VM after it, should that start have failed).
     */
    @Override
    public CompletionStage<TaskRef> powerOn(String vmRef) {
        long waitSeconds = Math.max(1, settings.operationTimeout().toSeconds() / 2);
        return start(Operation.POWER_ON, vmRef, settings.operationTimeout(),
                valid(vmRef) ? HyperVScripts.start(vmRef, waitSeconds) : null);
    }

    /** Asks the guest to shut down and turns the VM off once the shutdown timeout passed. */
    @Override
    public CompletionStage<TaskRef> powerOff(String vmRef) {
        long seconds = Math.max(0, settings.shutdownTimeout().toSeconds());
        return start(Operation.POWER_OFF, vmRef, settings.shutdownTimeout(),
                valid(vmRef) ? HyperVScripts.stop(vmRef, seconds) : null);
    }

    /**
     * Turns the VM off and applies its base checkpoint: everything written since provisioning is gone. The guest's
     * new metadata replaces its KVP items in the same script.
     */
    @Override
    public CompletionStage<TaskRef> revert(String vmRef, Map<String, String> guestMetadata) {
        return start(Operation.REVERT, vmRef, settings.operationTimeout(),
                valid(vmRef) ? HyperVScripts.revert(vmRef, guestMetadata) : null);
    }

    /** Turns the VM off, removes it and deletes its disks; a VM that is already gone counts as deleted. */
    @Override
    public CompletionStage<TaskRef> delete(String vmRef) {
        return start(Operation.DELETE, vmRef, settings.operationTimeout(),
                valid(vmRef) ? HyperVScripts.delete(vmRef, disk(vmRef, null)) : null);
    }

    @Override
    public CompletionStage<TaskStatus> pollTask(TaskRef task) {
        if (task == null || !id.equals(task.hypervisorId())) {
            return failed("Task " + task + " does not belong to hypervisor " + id, false);
        }
        String[] parts = task.taskId() == null ? new String[0] : task.taskId().split(":");
        Optional<Operation> operation = parts.length == 3 ? Operation.byId(parts[0]) : Optional.empty();
        if (operation.isEmpty() || !valid(parts[1])) {
            return failed("No task " + task.taskId() + " on Hyper-V host " + id, false);
        }
        String vm = parts[1];
        long deadline = parseLong(parts[2]);
        CompletableFuture<JsonNode> job = jobs.get(task.taskId());
        if (job != null) {
            if (!job.isDone()) {
                return CompletableFuture.completedFuture(TaskStatus.running(POLL_AGAIN));
            }
            jobs.remove(task.taskId(), job);
            if (job.isCompletedExceptionally()) {
                HypervisorException e = HyperVErrors.transport(id, operation.get().id + " VM " + vm,
                        job.handle((x, t) -> t).join());
                return CompletableFuture.completedFuture(TaskStatus.failed(e.getMessage(), e.retryable()));
            }
            String power = job.join().path("state").asText("");
            if (operation.get() == Operation.POWER_ON && !power.startsWith("Running")) {
                // e.g. the script's wait for another start in flight ended before that start did
                return CompletableFuture.completedFuture(TaskStatus.failed("VM " + vm + " on Hyper-V host " + id
                        + " is " + power + ", not Running, after its start", true));
            }
            return CompletableFuture.completedFuture(TaskStatus.succeeded(vm));
        }
        // started on another node (or this node forgot it): judge by the VM itself
        return call("check " + operation.get().id + " of VM " + vm, HyperVScripts.state(vm), settings.callTimeout(),
                json -> json).thenCompose(state -> outcome(operation.get(), vm, deadline, state));
    }

    private CompletionStage<TaskStatus> outcome(Operation operation, String vm, long deadline, JsonNode state) {
        boolean exists = state.path("exists").asBoolean();
        String power = state.path("state").asText("");
        boolean late = clock.millis() > deadline;
        TaskStatus waiting = late
                ? TaskStatus.failed(operation.id + " of VM " + vm + " on Hyper-V host " + id
                        + " did not finish in time", true)
                : TaskStatus.running(POLL_AGAIN);
        TaskStatus status = switch (operation) {
            case PROVISION -> exists && state.path("base").asBoolean() ? TaskStatus.succeeded(vm) : waiting;
            case POWER_ON -> !exists ? gone(vm) : power.startsWith("Running") ? TaskStatus.succeeded(vm) : waiting;
            case REVERT -> !exists ? gone(vm) : power.startsWith("Off") ? TaskStatus.succeeded(vm) : waiting;
            case DELETE -> !exists ? TaskStatus.succeeded(vm) : waiting;
            case POWER_OFF -> !exists ? gone(vm) : power.startsWith("Off") ? TaskStatus.succeeded(vm) : null;
        };
        if (status != null) {
            return CompletableFuture.completedFuture(status);
        }
        if (!late) {
            return CompletableFuture.completedFuture(TaskStatus.running(POLL_AGAIN));
        }
        // the node that asked for the shutdown is gone and the guest did not stop: pull the plug, as it would have
        LOG.infof("Hyper-V host %s: VM %s did not shut down in %s; turning it off", id, vm,
                settings.shutdownTimeout());
        return call("turn off VM " + vm, HyperVScripts.turnOff(vm), settings.callTimeout(), json -> json)
                .thenApply(json -> json.path("state").asText("").startsWith("Off") ? TaskStatus.succeeded(vm)
                        : TaskStatus.failed("VM " + vm + " on Hyper-V host " + id + " did not turn off", true));
    }

    private TaskStatus gone(String vm) {
        return TaskStatus.failed("VM " + vm + " no longer exists on Hyper-V host " + id, false);
    }

    /**
     * RDP only (Hyper-V has no VNC or SPICE console): the guest's own RDP service on its IP address, or VMConnect,
     * the host's port 2179 with the VM id as preconnection blob, per {@code rdpTarget}.
     */
    @Override
    public CompletionStage<ConsoleAddress> consoleAddress(String vmRef, String protocol) {
        String name = protocol == null ? "" : protocol.toLowerCase(Locale.ROOT);
        if (!name.equals("rdp")) {
            return failed("Protocol '" + protocol + "' is not offered by Hyper-V host " + id + " (rdp only)", false);
        }
        if (!valid(vmRef)) {
            return failed("No VM " + vmRef + " on Hyper-V host " + id, false);
        }
        return call("find the RDP address of VM " + vmRef, HyperVScripts.state(vmRef), settings.callTimeout(),
                json -> {
                    if (!json.path("exists").asBoolean()) {
                        throw new HypervisorException("No VM " + vmRef + " on Hyper-V host " + id, false);
                    }
                    Optional<String> ip = firstIp(json);
                    if (settings.rdpTarget() == RdpTarget.VMCONNECT
                            || (settings.rdpTarget() == RdpTarget.AUTO && ip.isEmpty())) {
                        return new ConsoleAddress("rdp", settings.host(), settings.vmConnectPort(),
                                json.path("id").asText());
                    }
                    return ip.map(a -> new ConsoleAddress("rdp", a, RDP_PORT))
                            .orElseThrow(() -> new HypervisorException("VM " + vmRef + " on Hyper-V host " + id
                                    + " reports no guest IP address yet (not running, no network or no integration"
                                    + " services)", true));
                });
    }

    @Override
    public CompletionStage<Optional<String>> guestIp(String vmRef) {
        if (!valid(vmRef)) {
            return failed("No VM " + vmRef + " on Hyper-V host " + id, false);
        }
        return call("find the guest IP of VM " + vmRef, HyperVScripts.state(vmRef), settings.callTimeout(),
                HyperVDriver::firstIp);
    }

    private static Optional<String> firstIp(JsonNode state) {
        for (JsonNode ip : state.path("ips")) {
            if (!ip.asText().isBlank()) {
                return Optional.of(ip.asText());
            }
        }
        // ConvertTo-Json writes an array of one as the bare value
        return state.path("ips").isTextual() ? Optional.of(state.path("ips").asText()) : Optional.empty();
    }

    /** Where a desktop's differencing disk goes: the configured directory, or beside the parent disk. */
    private String disk(String vm, String parentDisk) {
        String directory = settings.diskDirectory();
        if (directory == null && parentDisk != null) {
            directory = parentDisk.substring(0, parentDisk.lastIndexOf('\\'));
        }
        if (directory == null) {
            return ""; // delete: the VM's own disk list names it
        }
        return directory + (directory.endsWith("\\") ? "" : "\\") + vm + ".vhdx";
    }

    /** Runs a long operation in the background and answers at once with its task. */
    private CompletionStage<TaskRef> start(Operation operation, String vm, Duration limit, String script) {
        if (script == null || !valid(vm)) {
            return failed("No VM " + vm + " on Hyper-V host " + id, false);
        }
        // a node that polls after the deadline stops waiting (and, for a shutdown, turns the VM off)
        long deadline = clock.millis() + limit.toMillis();
        String taskId = operation.id + ":" + vm + ":" + deadline;
        String what = operation.id + " VM " + vm;
        CompletableFuture<JsonNode> job;
        try {
            job = submit(what, script, limit.plus(settings.callTimeout()));
        } catch (HypervisorException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (jobs.size() > 10_000) {
            jobs.values().removeIf(CompletableFuture::isDone); // tasks nobody polls any more
        }
        jobs.put(taskId, job);
        job.whenComplete((x, e) -> {
            if (e != null) {
                LOG.infof("Hyper-V host %s: %s failed: %s", id, what, HyperVErrors.transport(id, what, e).getMessage());
            }
        });
        return CompletableFuture.completedFuture(new TaskRef(id, taskId, vm));
    }

    /** Runs a short call on this host's threads, bounded by the call timeout. */
    private <T> CompletionStage<T> call(String what, String script, Duration timeout, Function<JsonNode, T> reader) {
        try {
            return submit(what, script, timeout).thenApply(reader);
        } catch (HypervisorException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private CompletableFuture<JsonNode> submit(String what, String script, Duration timeout) {
        CompletableFuture<JsonNode> result = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                if (result.isDone()) {
                    return; // timed out while it waited in the queue
                }
                try {
                    result.complete(parse(what, shell.run(script, timeout)));
                } catch (Throwable e) {
                    result.completeExceptionally(HyperVErrors.transport(id, what, e));
                }
            });
        } catch (RejectedExecutionException e) {
            if (executor.isShutdown()) {
                throw new HypervisorException("The driver of Hyper-V host " + id + " is closed (its definition"
                        + " changed or it was removed); try again", true);
            }
            throw new HypervisorException("Hyper-V host " + id + " is busy: " + executor.getQueue().size()
                    + " PowerShell calls are waiting; try again later", true);
        }
        long millis = timeout.toMillis();
        return result.orTimeout(millis, TimeUnit.MILLISECONDS).exceptionallyCompose(e -> CompletableFuture
                .failedFuture(HyperVErrors.unwrap(e) instanceof TimeoutException t
                        ? HypervisorException.unreachable("Hyper-V host " + id + " did not " + what + " within "
                                + millis + " ms", t)
                        : HyperVErrors.transport(id, what, e)));
    }

    /** The one JSON document a script prints; its error report becomes a {@link HypervisorException}. */
    private JsonNode parse(String what, PowerShell.Output output) {
        JsonNode json = null;
        String text = output.stdout() == null ? "" : output.stdout().strip();
        if (!text.isEmpty()) {
            try {
                json = JSON.readTree(text);
            } catch (Exception e) {
                json = null;
            }
        }
        if (output.exitCode() != 0 || json == null || json.has("error")) {
            if (json == null && output.exitCode() == 0) {
                throw new HypervisorException("Cannot " + what + " on Hyper-V host " + id
                        + ": PowerShell printed no JSON", false);
            }
            throw HyperVErrors.script(id, what, output, json != null && json.has("error") ? json : null);
        }
        return json;
    }

    private static boolean valid(String vmRef) {
        return vmRef != null && VM_NAME.matcher(vmRef).matches();
    }

    /** Hyper-V's VMState names, including the "...Critical" ones of VMs whose storage is unreachable. */
    static PowerState power(String state) {
        String s = state == null ? "" : state;
        if (s.startsWith("Running") || s.startsWith("Starting") || s.startsWith("Stopping") || s.startsWith("Reset")) {
            return PowerState.RUNNING;
        }
        if (s.startsWith("Off")) {
            return PowerState.STOPPED;
        }
        if (s.startsWith("Saved") || s.startsWith("Paused") || s.startsWith("Saving") || s.startsWith("Pausing")
                || s.startsWith("Resuming") || s.startsWith("FastSav")) {
            return PowerState.SUSPENDED;
        }
        return PowerState.UNKNOWN;
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static <T> CompletionStage<T> failed(String message, boolean retryable) {
        return CompletableFuture.failedFuture(new HypervisorException(message, retryable));
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            shell.close();
        } catch (Exception e) {
            LOG.debugf("Closing the WinRM client of Hyper-V host %s: %s", id, e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "HyperVDriver[" + id + ", " + settings.url() + "]";
    }
}
