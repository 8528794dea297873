package org.vdibroker.hypervisor.vsphere;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;
import org.vdibroker.hypervisor.ChecksDefinitions;
import org.vdibroker.hypervisor.ConsoleAddress;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HostUsage;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.ProvisionSpec;
import org.vdibroker.hypervisor.SupportsConsoleUrl;
import org.vdibroker.hypervisor.SupportsGuestIp;
import org.vdibroker.hypervisor.SupportsLinkedClone;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.TaskStatus;
import org.vdibroker.hypervisor.VmInfo;
import org.vdibroker.hypervisor.VmInfo.PowerState;
import org.vdibroker.hypervisor.vsphere.VimClient.ObjectContent;
import org.vdibroker.hypervisor.vsphere.VimClient.ServiceContent;
import org.w3c.dom.Element;

/**
 * Desktops on VMware vCenter or a standalone ESXi host through the vSphere Web Services API. A desktop is a clone
 * (linked from the template's current snapshot where it has one) with the broker's metadata in its extraConfig as
 * {@code guestinfo.*} (the guest reads it with VMware Tools), and a snapshot {@value #BASE_SNAPSHOT} taken right after
 * the clone that a refresh reverts to (or, with {@code refresh: reclone}, the desktop is cloned again from its template
 * as a new VM of the same name). With {@code network} set, the clone's first NIC is moved to that port group or
 * distributed port group. Every call is non-blocking; every vSphere task becomes a {@link TaskRef} whose
 * id names the vSphere task (and what follows it), so any broker node can poll it.
 */
public final class VsphereDriver implements HypervisorDriver, SupportsLinkedClone, SupportsGuestIp, SupportsConsoleUrl,
        ChecksDefinitions {

    private static final Logger LOG = Logger.getLogger(VsphereDriver.class);

    static final String BASE_SNAPSHOT = "vdi-base";
    /** Broker metadata goes to the guest as guestinfo.<key>; its presence marks a VM the broker made. */
    static final String GUESTINFO = "guestinfo.";
    static final String DESKTOP_ID_KEY = "guestinfo.vdi.desktop-id";
    /** The template a desktop was cloned from, so a re-clone knows it (metadata key, under guestinfo.). */
    static final String TEMPLATE_METADATA = "vdi.template";
    /** Name a desktop has while its re-clone is made: never a desktop name, so the reconciler leaves it alone. */
    static final String OLD_SUFFIX = ".old";
    /** How long a clone this node started counts in usage when no node polls it to its end. */
    private static final Duration PROVISIONING_EXPIRY = Duration.ofHours(1);
    private static final Set<String> ETHERNET_CARDS = Set.of("VirtualE1000", "VirtualE1000e", "VirtualPCNet32",
            "VirtualVmxnet", "VirtualVmxnet2", "VirtualVmxnet3", "VirtualVmxnet3Vrdma", "VirtualSriovEthernetCard");
    private static final Pattern VM_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,79}");
    private static final Pattern MOID = Pattern.compile("[A-Za-z0-9_.-]{1,100}");
    private static final int RDP_PORT = 3389;

    private final String id;
    private final VsphereSettings settings;
    private final HostCapacity configured;
    private final Clock clock;
    private final ExecutorService executor;
    private final VimClient vim;
    private final AtomicReference<CompletableFuture<Inventory>> inventory = new AtomicReference<>();
    /** The configured network as a NIC backing (XML), resolved on the first clone; "" when none is configured. */
    private final AtomicReference<CompletableFuture<String>> nicBacking = new AtomicReference<>();
    /** Second steps of multi-step tasks issued by this node (task id to vSphere task); other nodes re-derive them. */
    private final Map<String, String> followUps = new ConcurrentHashMap<>();
    /**
     * Clones under way on this node: counted in {@link #usage()} until their VM is in the folder (then it counts
     * itself), or for {@link #PROVISIONING_EXPIRY} when it never appears and no node here polls the clone's end.
     */
    private final Map<String, Provisioning> provisioning = new ConcurrentHashMap<>();
    /**
     * The guest metadata a snapshot revert applies once the snapshot is back (task id to metadata), held only in this
     * node's memory: it holds a new agent secret, which must not be stored in clear. A node that polls a revert it did
     * not issue fails it as retryable, and the pool manager refreshes again with a new secret.
     */
    private final Map<String, Map<String, String>> pendingGuestinfo = new ConcurrentHashMap<>();
    private static final String GUESTINFO_STEP = "#guestinfo";

    private record Provisioning(ProvisionSpec spec, long since) {
    }

    /** Where desktops go, resolved from the configured names once per driver. */
    record Inventory(Mor datacenter, Mor vmFolder, Mor compute, Mor host, Mor pool, Mor datastore) {
    }

    VsphereDriver(HypervisorDefinition definition, VsphereSettings settings, Clock clock) {
        this.id = definition.id();
        this.settings = settings;
        this.configured = definition.capacity();
        this.clock = clock;
        AtomicInteger threads = new AtomicInteger();
        // the HTTP client's own threads: they only parse answers, never block
        this.executor = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "vsphere-" + id + "-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.vim = new VimClient(id, settings.sdk(), settings.username(), settings.password(),
                settings.callTimeout(), VsphereTls.context(settings), executor);
    }

    VimClient vim() {
        return vim;
    }

    // ---------------------------------------------------------------- capacity

    /**
     * Cores and memory of the connected hosts that are not in maintenance, and what the VMs on them use. Hosts that
     * cannot take desktops take their share of the configured ceiling with them: it is reported as used.
     */
    @Override
    public CompletionStage<HostUsage> usage() {
        return guard("report usage", inventory().thenCompose(inv -> hosts(inv).thenCompose(hosts -> vim
                .properties("HostSystem", hosts, "summary.hardware.numCpuCores", "summary.hardware.memorySize",
                        "summary.quickStats.overallMemoryUsage", "runtime.connectionState",
                        "runtime.inMaintenanceMode", "vm")
                .thenCompose(hostProps -> {
                    int cores = 0;
                    int usableCores = 0;
                    long memoryMb = 0;
                    long usableMemoryMb = 0;
                    long hostMemoryUsedMb = 0;
                    List<Mor> vms = new ArrayList<>();
                    for (ObjectContent h : hostProps) {
                        int c = (int) number(h.text("summary.hardware.numCpuCores"));
                        long mb = number(h.text("summary.hardware.memorySize")) / (1024 * 1024);
                        cores += c;
                        memoryMb += mb;
                        boolean usable = "connected".equals(h.text("runtime.connectionState"))
                                && !"true".equals(h.text("runtime.inMaintenanceMode"));
                        if (usable) {
                            usableCores += c;
                            usableMemoryMb += mb;
                            hostMemoryUsedMb += number(h.text("summary.quickStats.overallMemoryUsage"));
                        }
                        vms.addAll(mors(h.prop("vm")));
                    }
                    double lost = cores == 0 ? 1 : 1 - (double) usableCores / cores;
                    long hostUsed = hostMemoryUsedMb;
                    int totalCores = usableCores;
                    long totalMb = usableMemoryMb;
                    return vim.properties("VirtualMachine", vms, "summary.config.numCpu",
                            "summary.config.memorySizeMB", "runtime.powerState", "summary.config.template")
                            .thenCombine(desktopNames(inv), (vmProps, names) -> {
                                pruneProvisioning(names);
                                int desktops = names.size();
                                int usedVcpus = 0;
                                long usedMb = 0;
                                for (ObjectContent vm : vmProps) {
                                    if ("poweredOn".equals(vm.text("runtime.powerState"))) {
                                        usedVcpus += (int) number(vm.text("summary.config.numCpu"));
                                        usedMb += number(vm.text("summary.config.memorySizeMB"));
                                    }
                                }
                                for (Provisioning p : provisioning.values()) {
                                    usedVcpus += p.spec().vcpus();
                                    usedMb += p.spec().memoryMb();
                                }
                                usedMb = Math.max(usedMb, hostUsed);
                                int maxDesktops = configured == null ? Integer.MAX_VALUE : configured.maxDesktops();
                                if (configured != null && lost > 0) {
                                    usedVcpus += (int) Math.ceil(configured.vcpus() * lost);
                                    usedMb += (long) Math.ceil(configured.memoryMb() * lost);
                                }
                                return new HostUsage(new HostCapacity(totalCores, totalMb, maxDesktops), usedVcpus,
                                        usedMb, desktops + provisioning.size());
                            });
                }))));
    }

    /** Names of the VMs (not templates) in the desktops' folder. */
    private CompletionStage<Set<String>> desktopNames(Inventory inv) {
        return vim.within(inv.vmFolder(), "VirtualMachine", "name", "summary.config.template")
                .thenApply(list -> list.stream().filter(o -> !"true".equals(o.text("summary.config.template")))
                        .map(o -> String.valueOf(o.text("name"))).collect(Collectors.toSet()));
    }

    /** Clones whose VM exists count as that VM; clones nobody here polled to the end stop counting after a while. */
    private void pruneProvisioning(Set<String> names) {
        long expired = clock.millis() - PROVISIONING_EXPIRY.toMillis();
        provisioning.entrySet().removeIf(e -> names.contains(e.getKey()) || e.getValue().since() < expired);
    }

    private CompletionStage<List<Mor>> hosts(Inventory inv) {
        if (inv.host() != null) {
            return CompletableFuture.completedFuture(List.of(inv.host()));
        }
        return vim.properties(inv.compute(), "host").thenApply(c -> mors(c.prop("host")));
    }

    // ---------------------------------------------------------------- VMs

    @Override
    public CompletionStage<List<VmInfo>> listVms(String namePrefix) {
        String prefix = namePrefix == null ? "" : namePrefix;
        return guard("list VMs", inventory().thenCompose(inv -> vim.within(inv.vmFolder(), "VirtualMachine", "name",
                "runtime.powerState", "summary.config.numCpu", "summary.config.memorySizeMB",
                "summary.config.template")).thenApply(list -> {
                    List<VmInfo> vms = new ArrayList<>();
                    for (ObjectContent o : list) {
                        String name = o.text("name");
                        if (name != null && name.startsWith(prefix)
                                && !"true".equals(o.text("summary.config.template"))) {
                            vms.add(new VmInfo(o.obj().value(), name, power(o.text("runtime.powerState")),
                                    (int) number(o.text("summary.config.numCpu")),
                                    number(o.text("summary.config.memorySizeMB"))));
                        }
                    }
                    vms.sort(Comparator.comparing(VmInfo::name));
                    return vms;
                }));
    }

    /**
     * Clones the template (an inventory path below the datacenter's vm folder) into the configured folder, resource
     * pool and datastore: linked from its current snapshot where it has one and cloneMode allows, else a full copy.
     * The finished task's vmRef is the new VM's moid; the base snapshot is taken before the task reports success.
     */
    @Override
    public CompletionStage<TaskRef> provision(ProvisionSpec spec) {
        if (spec.name() == null || !VM_NAME.matcher(spec.name()).matches()) {
            return failed("Cannot provision " + spec + " on hypervisor " + id
                    + ": a VM name is 1-80 letters, digits, '.', '_' or '-'", false);
        }
        if (spec.templateRef() == null || spec.templateRef().isBlank() || spec.vcpus() < 1 || spec.memoryMb() < 1) {
            return failed("Cannot provision " + spec + " on hypervisor " + id
                    + ": it needs a template (VM path below the datacenter's vm folder), vcpus and memory", false);
        }
        String what = "provision VM " + spec.name();
        provisioning.put(spec.name(), new Provisioning(spec, clock.millis()));
        CompletionStage<TaskRef> task = guard(what, inventory().thenCompose(inv -> cloneTask(inv, spec))
                .thenApply(t -> new TaskRef(id, "clone:" + t + ":" + spec.name(), null)));
        return task.whenComplete((t, e) -> {
            if (e != null) {
                provisioning.remove(spec.name());
            }
        });
    }

    /** Issues the clone of the spec's template (its moid, with the template path in the metadata); yields the task. */
    private CompletionStage<String> cloneTask(Inventory inv, ProvisionSpec spec) {
        return template(inv, spec.templateRef()).thenCompose(template -> (settings.network() == null
                ? vim.properties(template, "snapshot.currentSnapshot")
                : vim.properties(template, "snapshot.currentSnapshot", "config.hardware.device"))
                .thenCompose(t -> nicEdit(t.prop("config.hardware.device"), spec.templateRef()).thenCompose(nic -> {
                    Mor snapshot = settings.cloneMode() == VsphereSettings.CloneMode.LINKED
                            ? Xml.mor(t.prop("snapshot.currentSnapshot")) : null;
                    Map<String, String> metadata = new HashMap<>(spec.metadata());
                    metadata.put(TEMPLATE_METADATA, spec.templateRef());
                    String params = inv.vmFolder().xml("folder") + Xml.el("name", spec.name())
                            + cloneSpec(inv, spec, metadata, snapshot, nic);
                    return vim.call("CloneVM_Task", template, params).thenApply(VsphereDriver::taskMoid);
                })));
    }

    /**
     * The device change that connects the template's first network adapter to the configured network (the rest of
     * the adapter as it is, with a MAC address of its own); "" when no network is configured.
     */
    private CompletionStage<String> nicEdit(Element devices, String templateRef) {
        if (settings.network() == null) {
            return CompletableFuture.completedFuture("");
        }
        return nicBacking().thenApply(backing -> {
            Element nic = Xml.children(devices, null).stream().filter(VsphereDriver::ethernetCard).findFirst()
                    .orElseThrow(() -> new HypervisorException("Cannot connect the desktops of template '"
                            + templateRef + "' on hypervisor " + id + " to network '" + settings.network()
                            + "': the template has no network adapter", false));
            StringBuilder b = new StringBuilder("<deviceChange>").append(Xml.el("operation", "edit"))
                    .append("<device xsi:type=\"").append(Xml.escape(Xml.xsiType(nic))).append("\">");
            for (Element field : Xml.children(nic, null)) {
                switch (field.getLocalName()) {
                    case "backing" -> b.append(backing);
                    case "macAddress" -> {
                        // the template's MAC would be every desktop's: vSphere generates one per clone
                    }
                    case "addressType" -> b.append(Xml.el("addressType", "generated"));
                    default -> b.append(Xml.write(field, field.getLocalName()));
                }
            }
            return b.append("</device></deviceChange>").toString();
        });
    }

    private static boolean ethernetCard(Element device) {
        String type = Xml.xsiType(device);
        return type != null && (ETHERNET_CARDS.contains(type) || Xml.child(device, "addressType").isPresent())
                && Xml.child(device, "backing").isPresent();
    }

    /** The configured network resolved once: a port group or a distributed port group, as a NIC backing. */
    private CompletionStage<String> nicBacking() {
        return once(nicBacking, () -> find(settings.datacenter() + "/network/" + settings.network(), "network")
                .thenCompose(network -> switch (network.type()) {
                    case "Network" -> vim.properties(network, "name").thenApply(n -> "<backing xsi:type=\""
                            + "VirtualEthernetCardNetworkBackingInfo\">" + Xml.el("deviceName", n.text("name"))
                            + network.xml("network") + "</backing>");
                    case "DistributedVirtualPortgroup" -> vim.properties(network, "key",
                            "config.distributedVirtualSwitch").thenCompose(pg -> vim.properties(Xml.mor(
                                    pg.prop("config.distributedVirtualSwitch")), "uuid").thenApply(dvs -> "<backing"
                                            + " xsi:type=\"VirtualEthernetCardDistributedVirtualPortBackingInfo\">"
                                            + "<port>" + Xml.el("switchUuid", dvs.text("uuid"))
                                            + Xml.el("portgroupKey", pg.text("key")) + "</port></backing>"));
                    default -> CompletableFuture.failedFuture(new Unresolved(VsphereSettings.NETWORK, "The network '"
                            + settings.network() + "' of hypervisor " + id + " is a " + network.type()
                            + ", not a port group or distributed port group"));
                }));
    }

    private String cloneSpec(Inventory inv, ProvisionSpec spec, Map<String, String> metadata, Mor snapshot,
            String deviceChange) {
        StringBuilder b = new StringBuilder("<spec><location>");
        if (inv.datastore() != null) {
            b.append(inv.datastore().xml("datastore"));
        }
        if (snapshot != null) {
            b.append(Xml.el("diskMoveType", "createNewChildDiskBacking"));
        }
        b.append(inv.pool().xml("pool"));
        if (inv.host() != null) {
            b.append(inv.host().xml("host"));
        }
        b.append("</location><template>false</template><config>").append(Xml.el("numCPUs", spec.vcpus()))
                .append(Xml.el("memoryMB", spec.memoryMb())).append(deviceChange).append(extraConfig(metadata))
                .append("</config><powerOn>false</powerOn>");
        if (snapshot != null) {
            b.append(snapshot.xml("snapshot"));
        }
        return b.append("</spec>").toString();
    }

    static String extraConfig(Map<String, String> metadata) {
        StringBuilder b = new StringBuilder();
        metadata.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> b
                .append("<extraConfig xsi:type=\"OptionValue\">").append(Xml.el("key", GUESTINFO + e.getKey()))
                .append("<value xsi:type=\"xsd:string\">").append(Xml.escape(e.getValue())).append("</value>")
                .append("</extraConfig>"));
        return b.toString();
    }

    @Override
    public CompletionStage<TaskRef> powerOn(String vmRef) {
        String what = "start VM " + vmRef;
        return withVm(vmRef, what, vm -> vim.properties(vm, "runtime.powerState").thenCompose(p -> {
            if ("poweredOn".equals(p.text("runtime.powerState"))) {
                return done(vmRef);
            }
            return vim.call("PowerOnVM_Task", vm, "").thenApply(r -> task("task", taskMoid(r), vmRef));
        }));
    }

    /**
     * Asks the guest to shut down when VMware Tools run (the task powers it off hard once shutdownTimeoutMs passed),
     * or powers it off at once when they do not.
     */
    @Override
    public CompletionStage<TaskRef> powerOff(String vmRef) {
        String what = "shut down VM " + vmRef;
        return withVm(vmRef, what, vm -> vim.properties(vm, "runtime.powerState", "guest.toolsRunningStatus")
                .thenCompose(p -> {
                    if (!"poweredOn".equals(p.text("runtime.powerState"))) {
                        return done(vmRef);
                    }
                    if ("guestToolsRunning".equals(p.text("guest.toolsRunningStatus"))) {
                        long deadline = clock.millis() + settings.shutdownTimeout().toMillis();
                        return vim.call("ShutdownGuest", vm, "")
                                .thenApply(r -> task("shutdown", Long.toString(deadline), vmRef))
                                .exceptionallyCompose(e -> hardOff(vm, vmRef)); // tools stopped meanwhile
                    }
                    return hardOff(vm, vmRef);
                }));
    }

    private CompletionStage<TaskRef> hardOff(Mor vm, String vmRef) {
        return vim.call("PowerOffVM_Task", vm, "").thenApply(r -> task("task", taskMoid(r), vmRef));
    }

    /**
     * Powers the VM off (hard: its state is thrown away) and reverts it to its base snapshot, then writes
     * {@code guestMetadata} into its extraConfig (the snapshot brings back the clone's, whose agent secret is void);
     * leaves it powered off. A re-clone first writes the new metadata into the old VM, whose extraConfig the clone
     * copies.
     */
    @Override
    public CompletionStage<TaskRef> revert(String vmRef, Map<String, String> guestMetadata) {
        Map<String, String> replaced = Map.copyOf(guestMetadata);
        if (settings.refresh() == VsphereSettings.Refresh.RECLONE) {
            return withVm(vmRef, "re-clone VM " + vmRef, vm -> ours(vm, vmRef, "re-clone").thenCompose(p -> {
                String name = p.text("name");
                if (name != null && name.endsWith(OLD_SUFFIX)) {
                    // a re-clone that failed after the rename, tried again
                    name = name.substring(0, name.length() - OLD_SUFFIX.length());
                }
                recloneSource(p, vmRef);
                if (name == null || !VM_NAME.matcher(name).matches()) {
                    throw new HypervisorException("Cannot re-clone VM " + vmRef + " on hypervisor " + id
                            + ": its name '" + name + "' is not one the broker gives", false);
                }
                TaskRef task = task("reclone", name, vmRef);
                if (replaced.isEmpty()) {
                    return CompletableFuture.completedFuture(task);
                }
                // the re-clone's first round waits for this task, so the clone copies the new values
                return reconfigGuestinfo(vm, replaced).thenApply(t -> {
                    followUps.put(task.taskId(), t);
                    return task;
                });
            }));
        }
        String what = "revert VM " + vmRef;
        return withVm(vmRef, what, vm -> ours(vm, vmRef, "revert").thenCompose(p -> {
            if (baseSnapshot(p.prop("snapshot")).isEmpty()) {
                throw new HypervisorException("Cannot revert VM " + vmRef + " on hypervisor " + id + ": it has no "
                        + BASE_SNAPSHOT + " snapshot", false);
            }
            if ("poweredOn".equals(p.text("runtime.powerState"))) {
                return vim.call("PowerOffVM_Task", vm, "").thenApply(r -> task("revert", taskMoid(r), vmRef));
            }
            return CompletableFuture.completedFuture(task("revert", "-", vmRef));
        }).thenApply(task -> {
            if (pendingGuestinfo.size() > 10_000) {
                pendingGuestinfo.clear(); // reverts nobody polls any more; a poll of one fails and is done again
            }
            pendingGuestinfo.put(task.taskId(), replaced);
            return task;
        }));
    }

    private CompletionStage<String> reconfigGuestinfo(Mor vm, Map<String, String> metadata) {
        return vim.call("ReconfigVM_Task", vm, "<spec>" + extraConfig(metadata) + "</spec>")
                .thenApply(VsphereDriver::taskMoid);
    }

    /** A revert's last step: the snapshot is back, the guest's new metadata goes into the VM's extraConfig. */
    private CompletionStage<TaskStatus> afterRevert(String taskId, String vmRef, TaskStatus reverted) {
        if (reverted.state() != TaskStatus.State.SUCCEEDED) {
            return CompletableFuture.completedFuture(reverted);
        }
        Map<String, String> metadata = pendingGuestinfo.remove(taskId);
        if (metadata == null) {
            return CompletableFuture.completedFuture(TaskStatus.failed("The revert of VM " + vmRef + " on hypervisor "
                    + id + " was issued by another broker node, which held the guest's new metadata; it is to be"
                    + " refreshed again", true));
        }
        if (metadata.isEmpty()) {
            return CompletableFuture.completedFuture(reverted);
        }
        return reconfigGuestinfo(vm(vmRef), metadata).thenApply(t -> {
            followUps.put(taskId + GUESTINFO_STEP, t);
            return TaskStatus.running(settings.taskPollInterval());
        });
    }

    private CompletionStage<TaskStatus> guestinfoWritten(String taskId, String reconfigTask, String vmRef) {
        return taskInfo(reconfigTask).thenApply(info -> {
            if (info.state != State.RUNNING) {
                followUps.remove(taskId + GUESTINFO_STEP);
            }
            return info.state == State.SUCCESS ? TaskStatus.succeeded(vmRef) : info.status(vmRef);
        });
    }

    /** Powers the VM off and destroys it with its disks; a VM that is already gone counts as deleted. */
    @Override
    public CompletionStage<TaskRef> delete(String vmRef) {
        String what = "delete VM " + vmRef;
        return withVm(vmRef, what, vm -> ours(vm, vmRef, "delete").thenCompose(p -> {
            if ("poweredOn".equals(p.text("runtime.powerState"))) {
                return vim.call("PowerOffVM_Task", vm, "").thenApply(r -> task("delete", taskMoid(r), vmRef));
            }
            return CompletableFuture.completedFuture(task("delete", "-", vmRef));
        }).exceptionallyCompose(e -> VimClient.unwrap(e) instanceof VimFault f && f.is("ManagedObjectNotFound")
                ? done(vmRef) : CompletableFuture.failedFuture(e)));
    }

    // ---------------------------------------------------------------- tasks

    /**
     * Task ids are {@code kind:vSphereTask:vm}: {@code clone} (then the base snapshot), {@code task} (one vSphere
     * task), {@code revert} and {@code delete} (power-off task or '-', then the revert or destroy), {@code shutdown}
     * (a deadline instead of a task: the guest shuts down, then it is powered off hard) and {@code done}.
     */
    @Override
    public CompletionStage<TaskStatus> pollTask(TaskRef task) {
        if (task == null || !id.equals(task.hypervisorId()) || task.taskId() == null) {
            return failed("Task " + task + " does not belong to hypervisor " + id, false);
        }
        String[] parts = task.taskId().split(":", 3);
        if (parts.length != 3 || !MOID.matcher(parts[1]).matches()) {
            return failed("No task " + task.taskId() + " on hypervisor " + id, false);
        }
        String kind = parts[0];
        String step = parts[1];
        String vmRef = parts[2];
        String what = kind + " of " + vmRef;
        CompletionStage<TaskStatus> status = switch (kind) {
            case "done" -> CompletableFuture.completedFuture(TaskStatus.succeeded(vmRef));
            case "task" -> taskInfo(step).thenApply(info -> info.status(vmRef));
            case "clone" -> taskInfo(step).thenCompose(info -> info.state != State.SUCCESS
                    ? CompletableFuture.completedFuture(info.status(null))
                    : afterClone(task.taskId(), info.result, vmRef));
            case "revert" -> followUps.containsKey(task.taskId() + GUESTINFO_STEP)
                    ? guestinfoWritten(task.taskId(), followUps.get(task.taskId() + GUESTINFO_STEP), vmRef)
                    : afterPowerOff(task.taskId(), step, vmRef, vm -> revertStep(vm, vmRef))
                            .thenCompose(reverted -> afterRevert(task.taskId(), vmRef, reverted));
            case "delete" -> afterPowerOff(task.taskId(), step, vmRef, this::destroyStep);
            case "reclone" -> VM_NAME.matcher(step).matches() ? reclone(task.taskId(), step, vmRef)
                    : failed("No task " + task.taskId() + " on hypervisor " + id, false);
            case "shutdown" -> step.matches("\\d{1,19}") ? shutdownStep(task.taskId(), Long.parseLong(step), vmRef)
                    : failed("No task " + task.taskId() + " on hypervisor " + id, false);
            default -> failed("No task " + task.taskId() + " on hypervisor " + id, false);
        };
        return guard(what, status);
    }

    /** The clone exists: take its base snapshot (once) before reporting success. */
    private CompletionStage<TaskStatus> afterClone(String taskId, Mor vm, String name) {
        provisioning.remove(name);
        if (vm == null) {
            return failed("The clone task of " + name + " on hypervisor " + id + " named no VM", false);
        }
        return followUp(taskId, () -> vim.properties(vm, "snapshot").thenCompose(p -> {
            if (baseSnapshot(p.prop("snapshot")).isPresent()) {
                return CompletableFuture.completedFuture((String) null); // another node took it already
            }
            return takeBaseSnapshot(vm);
        }), vm.value());
    }

    private CompletionStage<String> takeBaseSnapshot(Mor vm) {
        return vim.call("CreateSnapshot_Task", vm, Xml.el("name", BASE_SNAPSHOT)
                + Xml.el("description", "state right after the clone; refresh reverts to it")
                + Xml.el("memory", false) + Xml.el("quiesce", false)).thenApply(VsphereDriver::taskMoid);
    }

    // ---------------------------------------------------------------- refresh by re-clone

    /**
     * One round of a re-clone, judged from what vSphere shows, so any node can carry it on: the old VM is powered
     * off and renamed {@code <name>.old}, the template cloned again as {@code <name>} with the old VM's metadata and
     * size, the clone's base snapshot taken, then the old VM destroyed. Each round waits for the vSphere task it
     * issued (remembered on this node) or issues the next one. The rename is there because vCenter refuses two VMs of
     * one name in a folder; {@code <name>.old} is no desktop name, so the reconciler ignores it (and leaves a desktop
     * whose refresh is under way to the pool manager). Succeeds with the new VM's moid.
     */
    private CompletionStage<TaskStatus> reclone(String taskId, String name, String oldRef) {
        String issued = followUps.get(taskId);
        if (issued == null) {
            return recloneStep(taskId, name, oldRef);
        }
        return taskInfo(issued).thenCompose(info -> {
            if (info.state == State.RUNNING) {
                return CompletableFuture.completedFuture(TaskStatus.running(info.pollAgain));
            }
            followUps.remove(taskId, issued);
            if (info.state == State.ERROR && !info.fault.is("InvalidPowerState")) {
                return CompletableFuture.completedFuture(info.status(oldRef));
            }
            return recloneStep(taskId, name, oldRef); // done (or already powered off): the next step
        });
    }

    private CompletionStage<TaskStatus> recloneStep(String taskId, String name, String oldRef) {
        Mor old = vm(oldRef);
        CompletionStage<Optional<ObjectContent>> oldVm = vim.properties(old, "name", "runtime.powerState",
                "config.extraConfig", "summary.config.numCpu", "summary.config.memorySizeMB")
                .thenApply(Optional::of).exceptionallyCompose(e -> VimClient.unwrap(e) instanceof VimFault f
                        && f.is("ManagedObjectNotFound") ? CompletableFuture.completedFuture(Optional.empty())
                                : CompletableFuture.failedFuture(e));
        return inventory().thenCompose(inv -> oldVm.thenCompose(o -> vim.call("FindChild",
                ServiceContent::searchIndex, inv.vmFolder().xml("entity") + Xml.el("name", name)).thenCompose(r -> {
                    Mor fresh = Xml.child(r, "returnval").map(Xml::mor).filter(m -> !m.equals(old)).orElse(null);
                    if (o.isEmpty()) {
                        if (fresh == null) {
                            return failed("Cannot re-clone VM " + oldRef + " (" + name + ") on hypervisor " + id
                                    + ": it is gone, and no clone of it exists", false);
                        }
                        return hasBaseSnapshot(fresh).thenCompose(has -> has
                                ? CompletableFuture.completedFuture(TaskStatus.succeeded(fresh.value()))
                                : issued(taskId, takeBaseSnapshot(fresh)));
                    }
                    ObjectContent p = o.get();
                    ProvisionSpec again = new ProvisionSpec(name, recloneSource(p, oldRef),
                            (int) number(p.text("summary.config.numCpu")),
                            number(p.text("summary.config.memorySizeMB")), metadata(p.prop("config.extraConfig")));
                    if (!"poweredOff".equals(p.text("runtime.powerState"))) {
                        return issued(taskId, vim.call("PowerOffVM_Task", old, "").thenApply(VsphereDriver::taskMoid));
                    }
                    if (fresh == null) {
                        if (name.equals(p.text("name"))) {
                            return issued(taskId, vim.call("Rename_Task", old, Xml.el("newName", name + OLD_SUFFIX))
                                    .thenApply(VsphereDriver::taskMoid));
                        }
                        return issued(taskId, cloneTask(inv, again));
                    }
                    // a refresh asked again after the clone (with a newer agent secret, written into the old VM
                    // first) brings the clone up to date before the old VM goes
                    Map<String, String> wanted = metadata(p.prop("config.extraConfig"));
                    return vim.properties(fresh, "config.extraConfig").thenCompose(f -> {
                        if (!metadata(f.prop("config.extraConfig")).entrySet().containsAll(wanted.entrySet())) {
                            return issued(taskId, reconfigGuestinfo(fresh, wanted));
                        }
                        return hasBaseSnapshot(fresh).thenCompose(has -> issued(taskId, has
                                ? vim.call("Destroy_Task", old, "").thenApply(VsphereDriver::taskMoid)
                                : takeBaseSnapshot(fresh)));
                    });
                })));
    }

    /** Remembers the vSphere task a re-clone round issued; the next poll waits for it. */
    private CompletionStage<TaskStatus> issued(String taskId, CompletionStage<String> task) {
        return task.thenApply(t -> {
            if (followUps.size() > 10_000) {
                followUps.clear(); // tasks nobody polls any more; a poll re-derives its step
            }
            followUps.put(taskId, t);
            return TaskStatus.running(settings.taskPollInterval());
        });
    }

    private CompletionStage<Boolean> hasBaseSnapshot(Mor vm) {
        return vim.properties(vm, "snapshot").thenApply(p -> baseSnapshot(p.prop("snapshot")).isPresent());
    }

    /** The template a desktop was cloned from, checking that the broker made it. */
    private String recloneSource(ObjectContent vm, String vmRef) {
        Map<String, String> metadata = metadata(vm.prop("config.extraConfig"));
        String template = metadata.get(TEMPLATE_METADATA);
        if (!metadata.containsKey(DESKTOP_ID_KEY.substring(GUESTINFO.length())) || template == null) {
            throw new HypervisorException("Cannot re-clone VM " + vmRef + " on hypervisor " + id + ": its extraConfig"
                    + " does not name its desktop and template (" + DESKTOP_ID_KEY + ", " + GUESTINFO
                    + TEMPLATE_METADATA + "); it was not made by this broker version", false);
        }
        return template;
    }

    /** The broker's metadata in a VM's extraConfig: its guestinfo.* keys, without the prefix. */
    static Map<String, String> metadata(Element extraConfig) {
        Map<String, String> metadata = new HashMap<>();
        for (Element option : Xml.children(extraConfig, null)) {
            String key = Xml.text(option, "key");
            if (key != null && key.startsWith(GUESTINFO)) {
                metadata.put(key.substring(GUESTINFO.length()), String.valueOf(Xml.text(option, "value")));
            }
        }
        return metadata;
    }

    /** Runs the second step once the power-off task (or none, '-') is done. */
    private CompletionStage<TaskStatus> afterPowerOff(String taskId, String powerOffTask, String vmRef,
            Function<Mor, CompletionStage<String>> next) {
        CompletionStage<TaskInfo> first = powerOffTask.equals("-")
                ? CompletableFuture.completedFuture(new TaskInfo(State.SUCCESS, null, null, Duration.ZERO))
                : taskInfo(powerOffTask);
        return first.thenCompose(info -> {
            if (info.state == State.RUNNING) {
                return CompletableFuture.completedFuture(TaskStatus.running(settings.taskPollInterval()));
            }
            // an error here is mostly "already powered off": the second step tells
            return followUp(taskId, () -> next.apply(vm(vmRef)), vmRef);
        });
    }

    private CompletionStage<String> revertStep(Mor vm, String vmRef) {
        return vim.properties(vm, "snapshot").thenCompose(p -> {
            Mor base = baseSnapshot(p.prop("snapshot")).orElseThrow(() -> new HypervisorException("Cannot revert VM "
                    + vmRef + " on hypervisor " + id + ": it has no " + BASE_SNAPSHOT + " snapshot", false));
            return vim.call("RevertToSnapshot_Task", base, Xml.el("suppressPowerOn", true))
                    .thenApply(VsphereDriver::taskMoid);
        });
    }

    private CompletionStage<String> destroyStep(Mor vm) {
        return vim.call("Destroy_Task", vm, "").thenApply(VsphereDriver::taskMoid)
                .exceptionallyCompose(e -> VimClient.unwrap(e) instanceof VimFault f
                        && f.is("ManagedObjectNotFound") ? CompletableFuture.completedFuture(null)
                                : CompletableFuture.failedFuture(e));
    }

    /**
     * The second vSphere task of a multi-step task: issued once by this node (remembered), then polled. A node that
     * did not issue it issues it again: revert and destroy may repeat, the base snapshot is only taken when missing.
     * {@code issue} yields null when there is nothing left to do.
     */
    private CompletionStage<TaskStatus> followUp(String taskId,
            java.util.function.Supplier<CompletionStage<String>> issue, String vmRef) {
        String known = followUps.get(taskId);
        CompletionStage<String> second = known != null ? CompletableFuture.completedFuture(known)
                : issue.get().thenApply(t -> {
                    if (t != null) {
                        if (followUps.size() > 10_000) {
                            followUps.clear(); // tasks nobody polls any more; a poll re-derives its step
                        }
                        followUps.put(taskId, t);
                    }
                    return t == null ? "" : t;
                });
        return second.thenCompose(t -> {
            if (t.isEmpty()) {
                return CompletableFuture.completedFuture(TaskStatus.succeeded(vmRef));
            }
            return taskInfo(t).thenApply(info -> {
                if (info.state != State.RUNNING) {
                    followUps.remove(taskId);
                }
                if (info.state == State.ERROR && info.fault.is("ManagedObjectNotFound")
                        && taskId.startsWith("delete:")) {
                    return TaskStatus.succeeded(vmRef); // gone already
                }
                return info.status(vmRef);
            });
        });
    }

    private CompletionStage<TaskStatus> shutdownStep(String taskId, long deadline, String vmRef) {
        Mor vm = vm(vmRef);
        return vim.properties(vm, "runtime.powerState").thenCompose(p -> {
            if (!"poweredOn".equals(p.text("runtime.powerState"))) {
                followUps.remove(taskId);
                return CompletableFuture.completedFuture(TaskStatus.succeeded(vmRef));
            }
            if (clock.millis() < deadline) {
                return CompletableFuture.completedFuture(TaskStatus.running(settings.taskPollInterval()));
            }
            LOG.infof("Hypervisor %s: guest of %s did not shut down in time; powering it off", id, vmRef);
            return followUp(taskId, () -> vim.call("PowerOffVM_Task", vm, "").thenApply(VsphereDriver::taskMoid),
                    vmRef);
        });
    }

    private enum State { RUNNING, SUCCESS, ERROR }

    private record TaskInfo(State state, Mor result, VimFault fault, Duration pollAgain) {
        TaskStatus status(String vmRef) {
            return switch (state) {
                case RUNNING -> TaskStatus.running(pollAgain);
                case SUCCESS -> TaskStatus.succeeded(vmRef != null ? vmRef : result == null ? null : result.value());
                case ERROR -> TaskStatus.failed(fault.getMessage() + " (vSphere fault " + fault.type() + ")",
                        VsphereErrors.retryable(fault.type()));
            };
        }
    }

    private CompletionStage<TaskInfo> taskInfo(String taskMoid) {
        return vim.properties(new Mor("Task", taskMoid), "info").thenApply(p -> {
            Element info = p.prop("info");
            String state = Xml.text(info, "state");
            if ("success".equals(state)) {
                return new TaskInfo(State.SUCCESS, Xml.at(info, "result").map(Xml::mor).orElse(null), null,
                        Duration.ZERO);
            }
            if ("error".equals(state)) {
                Element fault = Xml.at(info, "error/fault").orElse(null);
                String type = fault == null ? null : Xml.xsiType(fault);
                if ("InvalidPowerState".equals(type) && "poweredOn".equals(Xml.text(fault, "requestedState"))
                        && "poweredOn".equals(Xml.text(fault, "existingState"))) {
                    // a start of a VM that runs (asked again while the first start ran, its answer lost): done, as
                    // HypervisorDriver#powerOn says
                    return new TaskInfo(State.SUCCESS, null, null, Duration.ZERO);
                }
                String message = Xml.text(info, "error/localizedMessage");
                if (message == null || message.isEmpty() || message.startsWith("*types.")) {
                    message = type == null ? "the task failed" : "the task failed with " + type;
                }
                return new TaskInfo(State.ERROR, null, new VimFault(type, message), Duration.ZERO);
            }
            return new TaskInfo(State.RUNNING, null, null, settings.taskPollInterval());
        });
    }

    // ---------------------------------------------------------------- checks before a save

    /**
     * The configured datacenter, cluster or host, resource pool, folder, datastore and network exist (the network is
     * a port group or distributed port group). Other failures (unreachable, refused login) fail the stage: the
     * definition is then saved with a warning.
     */
    @Override
    public CompletionStage<Map<String, String>> checkSettings() {
        return problems(inventory().thenCompose(inv -> settings.network() == null
                ? CompletableFuture.completedFuture("") : nicBacking()), u -> "config." + u.property);
    }

    /** The template is a VM at its path, with a network adapter when a network is configured. */
    @Override
    public CompletionStage<Map<String, String>> checkTemplate(String templateRef, int vcpus, long memoryMb) {
        return problems(inventory().thenCompose(inv -> template(inv, templateRef))
                .thenCompose(t -> settings.network() == null ? CompletableFuture.completedFuture(null)
                        : vim.properties(t, "config.hardware.device").thenApply(p -> {
                            if (Xml.children(p.prop("config.hardware.device"), null).stream()
                                    .noneMatch(VsphereDriver::ethernetCard)) {
                                throw new Unresolved("template VM", "Template '" + templateRef + "' on hypervisor "
                                        + id + " has no network adapter to connect to network '" + settings.network()
                                        + "'");
                            }
                            return null;
                        })), u -> "templateRef");
    }

    /** Unresolved names become problems under {@code field}; anything else fails the check. */
    private CompletionStage<Map<String, String>> problems(CompletionStage<?> check,
            Function<Unresolved, String> field) {
        return check.handle((x, e) -> {
            if (e == null) {
                return Map.<String, String>of();
            }
            Throwable cause = VimClient.unwrap(e);
            if (cause instanceof Unresolved u) {
                return Map.of(field.apply(u), u.getMessage());
            }
            throw VsphereErrors.map(id, "check the settings", cause);
        });
    }

    // ---------------------------------------------------------------- consoles

    @Override
    public CompletionStage<ConsoleAddress> consoleAddress(String vmRef, String protocol) {
        String name = protocol == null ? "" : protocol.toLowerCase(java.util.Locale.ROOT);
        if (name.equals("rdp")) {
            return guestIp(vmRef).thenApply(ip -> ip.map(a -> new ConsoleAddress("rdp", a, RDP_PORT))
                    .orElseThrow(() -> new HypervisorException("VM " + vmRef + " on hypervisor " + id
                            + " has no guest IP yet (VMware Tools report it once the guest runs)", true)));
        }
        if (name.equals("vmrc")) {
            return withVm(vmRef, "find VM " + vmRef, vm -> vim.properties(vm, "name"))
                    .thenApply(x -> new ConsoleAddress("vmrc", settings.consoleHost(), port()));
        }
        return failed("Protocol '" + protocol + "' is not offered by hypervisor " + id + " (rdp, vmrc)", false);
    }

    /** The first IPv4 address VMware Tools report: guest.ipAddress, else the guest's NICs. */
    @Override
    public CompletionStage<Optional<String>> guestIp(String vmRef) {
        return withVm(vmRef, "find the guest IP of VM " + vmRef,
                vm -> vim.properties(vm, "guest.ipAddress", "guest.net").thenApply(p -> {
                    List<String> candidates = new ArrayList<>();
                    if (p.text("guest.ipAddress") != null) {
                        candidates.add(p.text("guest.ipAddress"));
                    }
                    Element net = p.prop("guest.net");
                    if (net != null) {
                        for (Element nic : Xml.children(net, null)) {
                            for (Element a : Xml.children(nic, "ipAddress")) {
                                candidates.add(a.getTextContent().trim());
                            }
                        }
                    }
                    return candidates.stream().filter(VsphereDriver::usableIpv4).findFirst();
                }));
    }

    @Override
    public Set<String> consoleUrlProtocols() {
        return Set.of("vmrc");
    }

    /** A VMRC link with a one-time clone ticket of the broker's session; the link is a credential. */
    @Override
    public CompletionStage<String> consoleUrl(String vmRef, String protocol) {
        if (!"vmrc".equals(protocol)) {
            return failed("Hypervisor " + id + " offers console links for vmrc only, not '" + protocol + "'", false);
        }
        return withVm(vmRef, "issue a VMRC ticket for VM " + vmRef, vm -> vim.properties(vm, "name")
                .thenCompose(x -> vim.call("AcquireCloneTicket", ServiceContent::sessionManager, ""))
                .thenApply(r -> {
                    String ticket = Xml.text(r, "returnval");
                    String host = settings.consoleHost() + (port() == 443 ? "" : ":" + port());
                    return "vmrc://clone:" + URLEncoder.encode(ticket, StandardCharsets.UTF_8) + "@" + host
                            + "/?moid=" + URLEncoder.encode(vmRef, StandardCharsets.UTF_8);
                }));
    }

    /**
     * A WebMKS ticket ({@code AcquireTicket("webmks")}) as a wss URL, for a browser console. A server without it
     * (vcsim answers MethodNotFound) is a final "not offered". Not offered through the API: no real vCenter checked it.
     */
    CompletionStage<String> webmksUrl(String vmRef) {
        return withVm(vmRef, "issue a WebMKS ticket for VM " + vmRef, vm -> vim.call("AcquireTicket", vm,
                Xml.el("ticketType", "webmks")).exceptionallyCompose(e -> {
                    if (VimClient.unwrap(e) instanceof VimFault f && (f.is("MethodNotFound") || f.is("NotSupported")
                            || f.is("NotImplemented") || f.is("InvalidArgument"))) {
                        return failed("Hypervisor " + id + " does not offer WebMKS consoles (AcquireTicket webmks"
                                + " answered " + f.type() + ")", false);
                    }
                    return CompletableFuture.failedFuture(e);
                }).thenApply(r -> {
                    String host = Xml.text(r, "returnval/host");
                    String port = Xml.text(r, "returnval/port");
                    return "wss://" + (host == null ? settings.consoleHost() : host) + ":"
                            + (port == null ? "443" : port) + "/ticket/" + Xml.text(r, "returnval/ticket");
                }));
    }

    private int port() {
        int port = settings.sdk().getPort();
        return port > 0 ? port : "http".equals(settings.sdk().getScheme()) ? 80 : 443;
    }

    // ---------------------------------------------------------------- helpers

    /** The configured names resolved to objects once; a failed resolution is tried again on the next call. */
    CompletionStage<Inventory> inventory() {
        return once(inventory, this::resolve);
    }

    /** What {@code resolve} yields, asked once and kept; a failure is asked again on the next call. */
    private static <T> CompletionStage<T> once(AtomicReference<CompletableFuture<T>> holder,
            java.util.function.Supplier<CompletionStage<T>> resolve) {
        CompletableFuture<T> current = holder.get();
        if (current != null && !current.isCompletedExceptionally()) {
            return current;
        }
        CompletableFuture<T> mine = new CompletableFuture<>();
        if (!holder.compareAndSet(current, mine)) {
            return once(holder, resolve);
        }
        resolve.get().whenComplete((inv, e) -> {
            if (e != null) {
                mine.completeExceptionally(e);
            } else {
                mine.complete(inv);
            }
        });
        return mine;
    }

    private CompletionStage<Inventory> resolve() {
        String dc = settings.datacenter();
        String computeName = settings.cluster() != null ? settings.cluster() : settings.host();
        return find(dc, "datacenter").thenCompose(datacenter -> find(dc + "/host/" + computeName,
                settings.cluster() != null ? "cluster" : "host").thenCompose(found -> {
                    // a host inside a cluster names a HostSystem; its pool is its cluster's
                    CompletionStage<Mor[]> compute = found.type().equals("HostSystem")
                            ? vim.properties(found, "parent").thenApply(p -> new Mor[] { Xml.mor(p.prop("parent")),
                                    found })
                            : CompletableFuture.completedFuture(new Mor[] { found, null });
                    return compute.thenCompose(c -> vim.properties(c[0], "resourcePool", "host")
                            .thenCompose(cp -> {
                                Mor host = c[1];
                                if (host == null && settings.host() != null) {
                                    List<Mor> hosts = mors(cp.prop("host"));
                                    host = hosts.isEmpty() ? null : hosts.get(0);
                                }
                                Mor root = Xml.mor(cp.prop("resourcePool"));
                                Mor hostRef = host;
                                CompletionStage<Mor> pool = settings.resourcePool() == null
                                        ? CompletableFuture.completedFuture(root)
                                        : vim.properties(c[0], "name").thenCompose(n -> find(dc + "/host/"
                                                + parentPath(computeName, found, n.text("name")) + "/Resources/"
                                                + settings.resourcePool(), "resourcePool"));
                                CompletionStage<Mor> folder = settings.vmFolder() == null
                                        ? vim.properties(datacenter, "vmFolder")
                                                .thenApply(p -> Xml.mor(p.prop("vmFolder")))
                                        : find(dc + "/vm/" + settings.vmFolder(), "vmFolder");
                                CompletionStage<Mor> datastore = settings.datastore() == null
                                        ? CompletableFuture.completedFuture(null)
                                        : find(dc + "/datastore/" + settings.datastore(), "datastore");
                                return pool.thenCompose(rp -> folder.thenCompose(f -> datastore.thenApply(
                                        ds -> new Inventory(datacenter, f, c[0], hostRef, rp, ds))));
                            }));
                }));
    }

    private static String parentPath(String computeName, Mor found, String parentName) {
        if (!found.type().equals("HostSystem")) {
            return computeName;
        }
        int slash = computeName.lastIndexOf('/');
        return slash < 0 ? parentName : computeName.substring(0, slash);
    }

    /** An inventory path, or a clear error naming the property that points nowhere. */
    private CompletionStage<Mor> find(String path, String property) {
        return vim.call("FindByInventoryPath", ServiceContent::searchIndex, Xml.el("inventoryPath", path))
                .thenApply(r -> Xml.child(r, "returnval").map(Xml::mor).orElseThrow(() -> new Unresolved(property,
                        "Hypervisor " + id + " has no " + property + " at inventory path '" + path + "'")));
    }

    /** A configured name that points at nothing usable: final, and it names the setting (or "template VM"). */
    static final class Unresolved extends HypervisorException {
        final String property;

        Unresolved(String property, String message) {
            super(message, false);
            this.property = property;
        }
    }

    private CompletionStage<Mor> template(Inventory inv, String templateRef) {
        return find(settings.datacenter() + "/vm/" + templateRef, "template VM").thenApply(t -> {
            if (!t.type().equals("VirtualMachine")) {
                throw new Unresolved("template VM", "The template '" + templateRef + "' on hypervisor " + id
                        + " is a " + t.type() + ", not a VM");
            }
            return t;
        });
    }

    /** The VM's snapshot tree, power state and whether the broker made it (its desktop id in extraConfig). */
    private CompletionStage<ObjectContent> ours(Mor vm, String vmRef, String what) {
        return vim.properties(vm, "name", "config.extraConfig", "runtime.powerState", "snapshot").thenApply(p -> {
            boolean made = false;
            Element extra = p.prop("config.extraConfig");
            if (extra != null) {
                for (Element option : Xml.children(extra, null)) {
                    made |= DESKTOP_ID_KEY.equals(Xml.text(option, "key"));
                }
            }
            if (!made) {
                throw new HypervisorException("Will not " + what + " VM " + vmRef + " on hypervisor " + id
                        + ": it was not made by the broker (no " + DESKTOP_ID_KEY + " in its extraConfig)", false);
            }
            return p;
        });
    }

    /** The snapshot named {@value #BASE_SNAPSHOT} anywhere in a VirtualMachineSnapshotInfo. */
    static Optional<Mor> baseSnapshot(Element info) {
        if (info == null) {
            return Optional.empty();
        }
        for (Element tree : Xml.children(info, "rootSnapshotList")) {
            Optional<Mor> found = inTree(tree);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    private static Optional<Mor> inTree(Element tree) {
        if (BASE_SNAPSHOT.equals(Xml.text(tree, "name"))) {
            return Xml.child(tree, "snapshot").map(Xml::mor);
        }
        for (Element child : Xml.children(tree, "childSnapshotList")) {
            Optional<Mor> found = inTree(child);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    private <T> CompletionStage<T> withVm(String vmRef, String what, Function<Mor, CompletionStage<T>> action) {
        if (vmRef == null || !MOID.matcher(vmRef).matches()) {
            return failed("No VM " + vmRef + " on hypervisor " + id, false);
        }
        return guard(what, CompletableFuture.completedFuture(vm(vmRef)).thenCompose(action));
    }

    private static Mor vm(String vmRef) {
        return new Mor("VirtualMachine", vmRef);
    }

    private CompletionStage<TaskRef> done(String vmRef) {
        return CompletableFuture.completedFuture(task("done", "-", vmRef));
    }

    private TaskRef task(String kind, String step, String vmRef) {
        return new TaskRef(id, kind + ":" + step + ":" + vmRef, vmRef);
    }

    private static String taskMoid(Element response) {
        return Xml.text(response, "returnval");
    }

    /** Every failure leaves as a HypervisorException saying what failed. */
    private <T> CompletionStage<T> guard(String what, CompletionStage<T> stage) {
        return stage.exceptionallyCompose(e -> CompletableFuture.failedFuture(VsphereErrors.map(id, what, e)));
    }

    static List<Mor> mors(Element array) {
        List<Mor> list = new ArrayList<>();
        if (array != null) {
            for (Element e : Xml.children(array, null)) {
                list.add(Xml.mor(e));
            }
        }
        return list;
    }

    private static boolean usableIpv4(String s) {
        if (s == null || !s.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            return false;
        }
        try {
            InetAddress a = InetAddress.getByName(s);
            return a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()
                    && !a.isAnyLocalAddress();
        } catch (Exception e) {
            return false;
        }
    }

    private static long number(String s) {
        try {
            return s == null ? 0 : Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static PowerState power(String state) {
        if (state == null) {
            return PowerState.UNKNOWN;
        }
        return switch (state) {
            case "poweredOn" -> PowerState.RUNNING;
            case "poweredOff" -> PowerState.STOPPED;
            case "suspended" -> PowerState.SUSPENDED;
            default -> PowerState.UNKNOWN;
        };
    }

    private static <T> CompletionStage<T> failed(String message, boolean retryable) {
        return CompletableFuture.failedFuture(new HypervisorException(message, retryable));
    }

    /** Logs out (one session per hypervisor ends with its driver). */
    @Override
    public void close() {
        vim.close();
        executor.shutdownNow();
    }

    @Override
    public String toString() {
        return "VsphereDriver[" + id + ", " + settings.sdk() + "]";
    }
}
