package org.vdibroker.hypervisor.libvirt;

import java.net.Inet4Address;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.DomainInfo;
import org.libvirt.DomainInfo.DomainState;
import org.libvirt.DomainInterface;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.libvirt.NodeInfo;
import org.libvirt.StoragePool;
import org.libvirt.StorageVol;
import org.vdibroker.hypervisor.ConsoleAddress;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HostUsage;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.ProvisionSpec;
import org.vdibroker.hypervisor.SupportsConsoleTicket;
import org.vdibroker.hypervisor.SupportsGuestIp;
import org.vdibroker.hypervisor.SupportsLinkedClone;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.TaskStatus;
import org.vdibroker.hypervisor.VmInfo;
import org.vdibroker.hypervisor.VmInfo.PowerState;
import org.vdibroker.hypervisor.libvirt.DomainXml.Desktop;
import org.vdibroker.hypervisor.libvirt.DomainXml.Graphics;

/**
 * Desktops on a KVM/QEMU (or Xen) host through libvirt. A desktop is a domain whose disk is a qcow2 overlay on the
 * template's base image, created through libvirt's storage API so it works on remote hosts too; the domain's
 * metadata records base and overlay, so revert and delete work from any broker node. Every libvirt call runs on this
 * hypervisor's own bounded pool of threads, never on the caller's, and gives up after the call timeout. Long
 * operations run in the background; {@link #pollTask} reports them from this node's memory or, for a task started
 * on another node, from the state of the domain.
 */
public final class LibvirtDriver
        implements HypervisorDriver, SupportsConsoleTicket, SupportsLinkedClone, SupportsGuestIp,
        org.vdibroker.hypervisor.ChecksDefinitions {

    private static final Logger LOG = Logger.getLogger(LibvirtDriver.class);

    private static final Pattern VM_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final int RDP_PORT = 3389;
    /** {@code VIR_DOMAIN_AFFECT_LIVE} */
    private static final int AFFECT_LIVE = 1;
    /** {@code VIR_DOMAIN_METADATA_ELEMENT} */
    private static final int METADATA_ELEMENT = 2;
    /** {@code VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA} */
    private static final int UNDEFINE_FLAGS = 1 | 2;
    private static final Duration POLL_AGAIN = Duration.ofMillis(250);

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
    private final LibvirtSettings settings;
    private final HostCapacity configured;
    private final LibvirtConnection connection;
    private final ThreadPoolExecutor executor;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    /** Operations started on this node, by task id, until they are polled after they ended. */
    private final Map<String, CompletableFuture<Void>> jobs = new ConcurrentHashMap<>();
    /** Provisions under way on this node: counted in {@link #usage()} until their domain exists. */
    private final Map<String, ProvisionSpec> provisioning = new ConcurrentHashMap<>();
    /** The console ticket last set per VM, so a late "used" event does not lock a newer ticket out. */
    private final Map<String, ConsoleTicket> ticketGenerations = new ConcurrentHashMap<>();

    /**
     * The console ticket of one VM: how many were set (the generation), which console the current one opens, and
     * which generation already has its re-lock scheduled.
     */
    private static final class ConsoleTicket {
        final AtomicLong generation = new AtomicLong();
        volatile String protocol;
        final AtomicLong lockScheduled = new AtomicLong(-1);
    }

    LibvirtDriver(HypervisorDefinition definition, LibvirtSettings settings, Clock clock) {
        this.id = definition.id();
        this.settings = settings;
        this.configured = definition.capacity();
        this.clock = clock;
        this.connection = new LibvirtConnection(id, settings, this::consoleAuthenticated);
        AtomicInteger threads = new AtomicInteger();
        this.executor = new ThreadPoolExecutor(settings.concurrency(), settings.concurrency(), 30, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(Math.max(64, settings.concurrency() * 16)), r -> {
                    Thread t = new Thread(r, "libvirt-" + id + "-" + threads.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        executor.allowCoreThreadTimeOut(true);
    }

    @Override
    public CompletionStage<HostUsage> usage() {
        return call("report usage", c -> {
            NodeInfo node = c.nodeInfo();
            long totalMb = node.memory / 1024;
            long freeMb = c.getFreeMemory() / (1024 * 1024);
            int usedVcpus = 0;
            long usedKib = 0;
            int desktops = 0;
            Map<String, ProvisionSpec> coming = new HashMap<>(provisioning);
            for (Domain d : c.listAllDomains(0)) {
                DomainInfo info = d.getInfo();
                coming.remove(d.getName());
                if (d.isActive() == 1) {
                    usedVcpus += info.nrVirtCpu;
                    usedKib += info.memory;
                }
                if (desktop(d).isPresent()) {
                    desktops++;
                }
            }
            // clones this node is still making take their room already, so placement does not overfill the host
            for (ProvisionSpec spec : coming.values()) {
                desktops++;
                usedVcpus += spec.vcpus();
                usedKib += spec.memoryMb() * 1024;
            }
            // what the VMs were given, or what the host has in use, whichever is more
            long usedMb = Math.max(usedKib / 1024, totalMb - freeMb);
            int maxDesktops = configured == null ? Integer.MAX_VALUE : configured.maxDesktops();
            return new HostUsage(new HostCapacity(node.cpus, totalMb, maxDesktops), usedVcpus, usedMb, desktops);
        });
    }

    @Override
    public CompletionStage<List<VmInfo>> listVms(String namePrefix) {
        String prefix = namePrefix == null ? "" : namePrefix;
        return call("list VMs", c -> {
            List<VmInfo> vms = new ArrayList<>();
            for (Domain d : c.listAllDomains(0)) {
                String name = d.getName();
                if (name.startsWith(prefix)) {
                    DomainInfo info;
                    try {
                        info = d.getInfo();
                    } catch (LibvirtException e) {
                        if (LibvirtErrors.is(e, ErrorNumber.VIR_ERR_NO_DOMAIN)) {
                            continue; // deleted since it was listed: no longer there, which is what the list says
                        }
                        throw e;
                    }
                    vms.add(new VmInfo(name, name, power(info.state), info.nrVirtCpu, info.maxMem / 1024));
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
                    + ": it needs a template (base image path or pool/volume), vcpus and memory", false);
        }
        provisioning.put(spec.name(), spec);
        CompletionStage<TaskRef> task = start(Operation.PROVISION, spec.name(), null, "provision VM " + spec.name(),
                c -> {
                    try {
                        create(c, spec);
                    } finally {
                        provisioning.remove(spec.name());
                    }
                });
        task.whenComplete((t, e) -> {
            if (e != null) {
                provisioning.remove(spec.name());
            }
        });
        return task;
    }

    @Override
    public CompletionStage<TaskRef> powerOn(String vmRef) {
        return start(Operation.POWER_ON, vmRef, null, "start VM " + vmRef, c -> {
            Domain d = c.domainLookupByName(vmRef);
            if (d.isActive() != 1) {
                d.create();
            }
        });
    }

    /** Asks the guest to shut down; {@link #pollTask} powers it off hard once the shutdown timeout passed. */
    @Override
    public CompletionStage<TaskRef> powerOff(String vmRef) {
        long deadline = clock.millis() + settings.shutdownTimeout().toMillis();
        return start(Operation.POWER_OFF, vmRef, deadline, "shut down VM " + vmRef, c -> {
            Domain d = c.domainLookupByName(vmRef);
            if (d.isActive() == 1) {
                try {
                    d.shutdown();
                } catch (LibvirtException e) {
                    if (!LibvirtErrors.is(e, ErrorNumber.VIR_ERR_OPERATION_INVALID)) {
                        throw e; // "not running" means it stopped meanwhile: done
                    }
                }
            }
        });
    }

    /**
     * Powers the VM off and gives it a fresh overlay on its base image: everything written since is gone. The guest's
     * new metadata replaces its SMBIOS OEM strings in the persistent definition (the channel of provisioning), so the
     * next boot reads it.
     */
    @Override
    public CompletionStage<TaskRef> revert(String vmRef, Map<String, String> guestMetadata) {
        Map<String, String> replaced = Map.copyOf(guestMetadata);
        return start(Operation.REVERT, vmRef, null, "revert VM " + vmRef, c -> {
            Domain d = c.domainLookupByName(vmRef);
            Desktop desktop = desktop(d).orElseThrow(() -> notOurs(vmRef, "revert"));
            if (d.isActive() == 1) {
                destroy(d);
            }
            if (!replaced.isEmpty()) {
                // the secure, inactive definition: it keeps the locked console password of the stored config
                c.domainDefineXML(DomainXml.withOemStrings(d.getXMLDesc(XML_SECURE | XML_INACTIVE), replaced));
            }
            StorageVol base = c.storageVolLookupByPath(desktop.base());
            StorageVol old = volume(c, desktop.overlay()).orElseThrow(() -> new HypervisorException("Cannot revert VM "
                    + vmRef + " on hypervisor " + id + ": its overlay " + desktop.overlay() + " is gone", false));
            StoragePool pool = old.storagePoolLookupByVolume();
            String name = old.getName();
            old.delete(0);
            pool.storageVolCreateXML(
                    DomainXml.overlayVolume(name, base.getInfo().capacity, base.getPath(), desktop.baseFormat()), 0);
            ticketGenerations.remove(vmRef);
        });
    }

    /** Destroys and undefines the VM and deletes its overlay; a VM that is already gone counts as deleted. */
    @Override
    public CompletionStage<TaskRef> delete(String vmRef) {
        return start(Operation.DELETE, vmRef, null, "delete VM " + vmRef, c -> {
            Domain d;
            try {
                d = c.domainLookupByName(vmRef);
            } catch (LibvirtException e) {
                if (LibvirtErrors.is(e, ErrorNumber.VIR_ERR_NO_DOMAIN)) {
                    return;
                }
                throw e;
            }
            Desktop desktop = desktop(d).orElseThrow(() -> notOurs(vmRef, "delete"));
            if (d.isActive() == 1) {
                destroy(d);
            }
            try {
                d.undefine(UNDEFINE_FLAGS);
            } catch (LibvirtException e) {
                if (!LibvirtErrors.is(e, ErrorNumber.VIR_ERR_INVALID_ARG)
                        && !LibvirtErrors.is(e, ErrorNumber.VIR_ERR_NO_SUPPORT)) {
                    throw e;
                }
                d.undefine();
            }
            Optional<StorageVol> overlay = volume(c, desktop.overlay());
            if (overlay.isPresent()) {
                overlay.get().delete(0);
            }
            ticketGenerations.remove(vmRef);
        });
    }

    @Override
    public CompletionStage<TaskStatus> pollTask(TaskRef task) {
        if (task == null || !id.equals(task.hypervisorId())) {
            return failed("Task " + task + " does not belong to hypervisor " + id, false);
        }
        String[] parts = task.taskId() == null ? new String[0] : task.taskId().split(":");
        Optional<Operation> operation = parts.length >= 2 ? Operation.byId(parts[0]) : Optional.empty();
        if (operation.isEmpty() || !VM_NAME.matcher(parts[1]).matches()) {
            return failed("No task " + task.taskId() + " on hypervisor " + id, false);
        }
        String vm = parts[1];
        long deadline = parts.length > 2 ? parseLong(parts[2]) : 0;
        CompletableFuture<Void> job = jobs.get(task.taskId());
        if (job != null) {
            if (!job.isDone()) {
                return CompletableFuture.completedFuture(TaskStatus.running(POLL_AGAIN));
            }
            jobs.remove(task.taskId(), job);
            if (job.isCompletedExceptionally()) {
                HypervisorException e = LibvirtErrors.map(id, operation.get().id + " VM " + vm,
                        job.handle((x, t) -> t).join());
                return CompletableFuture.completedFuture(TaskStatus.failed(e.getMessage(), e.retryable()));
            }
            if (operation.get() != Operation.POWER_OFF) {
                return CompletableFuture.completedFuture(TaskStatus.succeeded(vm));
            }
        }
        return call("check " + operation.get().id + " of VM " + vm, c -> outcome(c, operation.get(), vm, deadline));
    }

    /** The state of a task from the domain itself: for tasks started on another node, or a shutdown under way. */
    private TaskStatus outcome(Connect c, Operation operation, String vm, long deadline) throws LibvirtException {
        Domain d;
        try {
            d = c.domainLookupByName(vm);
        } catch (LibvirtException e) {
            if (LibvirtErrors.is(e, ErrorNumber.VIR_ERR_NO_DOMAIN)) {
                return operation == Operation.DELETE ? TaskStatus.succeeded(vm)
                        : TaskStatus.failed("VM " + vm + " no longer exists on hypervisor " + id, false);
            }
            throw e;
        }
        boolean active = d.isActive() == 1;
        return switch (operation) {
            case PROVISION, REVERT -> TaskStatus.succeeded(vm);
            case POWER_ON -> active ? TaskStatus.succeeded(vm)
                    : TaskStatus.failed("VM " + vm + " is not running on hypervisor " + id, true);
            case DELETE -> TaskStatus.failed("VM " + vm + " still exists on hypervisor " + id, true);
            case POWER_OFF -> {
                if (!active) {
                    yield TaskStatus.succeeded(vm);
                }
                if (clock.millis() >= deadline) {
                    LOG.infof("Hypervisor %s: VM %s did not shut down in %s; powering it off", id, vm,
                            settings.shutdownTimeout());
                    destroy(d);
                    yield TaskStatus.succeeded(vm);
                }
                yield TaskStatus.running(Duration.ofMillis(Math.min(1000, deadline - clock.millis())));
            }
        };
    }

    @Override
    public CompletionStage<ConsoleAddress> consoleAddress(String vmRef, String protocol) {
        String name = protocol == null ? "" : protocol.toLowerCase(Locale.ROOT);
        if (name.equals("rdp")) {
            return guestIp(vmRef).thenApply(ip -> ip.map(a -> new ConsoleAddress("rdp", a, RDP_PORT))
                    .orElseThrow(() -> new HypervisorException("VM " + vmRef + " on hypervisor " + id
                            + " reports no guest IP address yet (not running, or no network)", true)));
        }
        if (!settings.consoles().contains(name)) {
            return failed("Protocol '" + protocol + "' is not offered by hypervisor " + id + " (rdp, "
                    + String.join(", ", settings.consoles()) + ")", false);
        }
        return call("find the " + name + " console of VM " + vmRef, c -> {
            Graphics g = graphics(c.domainLookupByName(vmRef), name);
            return new ConsoleAddress(name, settings.consoleHost(), g.port());
        });
    }

    @Override
    public CompletionStage<Optional<String>> guestIp(String vmRef) {
        return call("find the guest IP of VM " + vmRef, c -> {
            Domain d = c.domainLookupByName(vmRef);
            if (d.isActive() != 1) {
                return Optional.empty();
            }
            // DHCP leases of libvirt networks, then the guest agent, then the host's ARP table
            for (int source : new int[] { 0, 1, 2 }) {
                try {
                    for (DomainInterface nic : d.interfaceAddresses(source, 0)) {
                        for (DomainInterface.InterfaceAddress a : nic.addrs) {
                            if (a.address instanceof Inet4Address ip && !ip.isLoopbackAddress()) {
                                return Optional.of(ip.getHostAddress());
                            }
                        }
                    }
                } catch (LibvirtException e) {
                    LOG.debugf("Hypervisor %s: no addresses of %s from source %d: %s", id, vmRef, source,
                            e.getMessage());
                }
            }
            return Optional.empty();
        });
    }

    @Override
    public Set<String> consoleProtocols() {
        return Set.copyOf(settings.consoles());
    }

    /**
     * Sets the password of every console of the VM, valid until {@code expiresAt}. As soon as a client passed
     * authentication with it, the driver replaces it with one nobody knows, so it works once.
     */
    @Override
    public CompletionStage<Void> setConsolePassword(String vmRef, String password, Instant expiresAt) {
        return setConsolePassword(vmRef, null, password, expiresAt);
    }

    /**
     * Sets the password of the VM's console of {@code protocol} (every console when null), valid until
     * {@code expiresAt}; the VM's other consoles stay locked. How long it stays usable:
     * <ul>
     * <li>VNC: one client connection. The first client that authenticates locks the console again at once.</li>
     * <li>SPICE: one client opens several channels (main, display, inputs, cursor, ...), each authenticating with the
     * same password, so the first authenticated channel starts a grace ({@code spiceTicketGraceMs}, default 5 s);
     * at its end (or at the ticket's expiry, if sooner) the console is locked again. Channels already linked stay
     * open. So a stolen SPICE ticket opens the console until it is used and expires (broker.tickets.lifetime), and
     * after its owner used it, for at most the grace: whoever holds it then can link channels of their own too.</li>
     * </ul>
     */
    @Override
    public CompletionStage<Void> setConsolePassword(String vmRef, String protocol, String password,
            Instant expiresAt) {
        if (password == null || password.isEmpty() || expiresAt == null) {
            return failed("A console password and its expiry are required", false);
        }
        String console = protocol == null ? null : protocol.toLowerCase(Locale.ROOT);
        return call("set the console password of VM " + vmRef, c -> {
            Domain d = c.domainLookupByName(vmRef);
            ConsoleTicket ticket = generation(vmRef);
            synchronized (ticket) {
                setPasswords(d, vmRef, console, password, expiresAt);
                ticket.protocol = console;
                ticket.generation.incrementAndGet();
            }
            return null;
        });
    }

    /**
     * A console client authenticated: lock the console again, unless a newer ticket was set meanwhile; for SPICE
     * only after the grace, so the client's further channels can link.
     */
    private void consoleAuthenticated(String vmRef) {
        ConsoleTicket ticket = ticketGenerations.get(vmRef);
        if (ticket == null) {
            return; // no ticket of this driver
        }
        long seen = ticket.generation.get();
        if (!"spice".equals(ticket.protocol)) {
            lock(vmRef, ticket, seen);
            return;
        }
        long previous = ticket.lockScheduled.getAndSet(seen);
        if (previous == seen) {
            return; // a further channel of the same client: the lock is already scheduled
        }
        LOG.debugf("Hypervisor %s: SPICE ticket of %s used; console locks in %s", id, vmRef,
                settings.spiceTicketGrace());
        CompletableFuture.delayedExecutor(settings.spiceTicketGrace().toMillis(), TimeUnit.MILLISECONDS)
                .execute(() -> lock(vmRef, ticket, seen));
    }

    private void lock(String vmRef, ConsoleTicket ticket, long seen) {
        call("lock the console of VM " + vmRef + " after use", c -> {
            synchronized (ticket) {
                if (ticket.generation.get() == seen) {
                    setPasswords(c.domainLookupByName(vmRef), vmRef, null, secret(), clock.instant());
                    LOG.debugf("Hypervisor %s: console ticket of %s used; console locked", id, vmRef);
                }
            }
            return null;
        }).whenComplete((x, e) -> {
            if (e != null) {
                LOG.warnf("Hypervisor %s: console of %s not locked after use: %s", id, vmRef, e.getMessage());
            }
        });
    }

    /** Sets the password of the console of {@code protocol}, and locks the others; every console when null. */
    private void setPasswords(Domain d, String vmRef, String protocol, String password, Instant validTo)
            throws LibvirtException {
        if (d.isActive() != 1) {
            throw new HypervisorException("VM " + vmRef + " on hypervisor " + id + " is not running: no console", true);
        }
        List<Graphics> consoles = DomainXml.graphics(d.getXMLDesc(0));
        if (consoles.isEmpty()) {
            throw new HypervisorException("VM " + vmRef + " on hypervisor " + id + " has no console", false);
        }
        if (protocol != null && consoles.stream().noneMatch(g -> g.type().equals(protocol))) {
            throw new HypervisorException("VM " + vmRef + " on hypervisor " + id + " has no " + protocol + " console",
                    false);
        }
        for (Graphics g : consoles) {
            boolean opens = protocol == null || g.type().equals(protocol);
            d.updateDeviceFlags(opens ? DomainXml.withPassword(g, password, validTo)
                    : DomainXml.withPassword(g, secret(), clock.instant()), AFFECT_LIVE);
        }
    }

    private ConsoleTicket generation(String vmRef) {
        return ticketGenerations.computeIfAbsent(vmRef, k -> new ConsoleTicket());
    }

    /** Creates the overlay and defines the domain; removes the overlay again when the domain cannot be defined. */
    private void create(Connect c, ProvisionSpec spec) throws LibvirtException {
        DomainXml.Guest guest = connection.guest();
        StorageVol base = base(c, spec.templateRef());
        String baseFormat = DomainXml.volumeFormat(base.getXMLDesc(0));
        StoragePool pool = settings.storagePool() != null ? c.storagePoolLookupByName(settings.storagePool())
                : base.storagePoolLookupByVolume();
        String volumeName = spec.name() + ".qcow2";
        Optional<StorageVol> leftover = volumeIn(pool, volumeName);
        if (leftover.isPresent()) {
            if (exists(c, spec.name())) {
                throw new HypervisorException("Cannot provision " + spec + " on hypervisor " + id
                        + ": a VM of that name exists", false);
            }
            leftover.get().delete(0); // from a provision that died half-way
        }
        StorageVol overlay = pool.storageVolCreateXML(
                DomainXml.overlayVolume(volumeName, base.getInfo().capacity, base.getPath(), baseFormat), 0);
        try {
            Desktop desktop = new Desktop(id, base.getPath(), baseFormat, overlay.getPath());
            c.domainDefineXML(DomainXml.domain(spec.name(), guest, spec.vcpus(), spec.memoryMb(), desktop,
                    overlay.getPath(), settings, spec.metadata(), secret()));
        } catch (LibvirtException | RuntimeException e) {
            try {
                overlay.delete(0);
            } catch (LibvirtException cleanup) {
                LOG.warnf("Hypervisor %s: overlay %s of a failed provision not deleted: %s", id, volumeName,
                        cleanup.getMessage());
            }
            throw e;
        }
    }

    /** The template's base image: an absolute path of a volume in some storage pool, or {@code pool/volume}. */
    private StorageVol base(Connect c, String templateRef) throws LibvirtException {
        if (templateRef.startsWith("/")) {
            Optional<StorageVol> vol = volume(c, templateRef);
            if (vol.isEmpty()) {
                refreshPools(c); // a file copied into a pool's directory is seen after a refresh
                vol = volume(c, templateRef);
            }
            return vol.orElseThrow(() -> new HypervisorException("The template base image " + templateRef
                    + " is not a volume of any libvirt storage pool on hypervisor " + id + ": put it in a pool's"
                    + " directory (e.g. /var/lib/libvirt/images) or define a pool for its directory", false));
        }
        int slash = templateRef.indexOf('/');
        if (slash < 1 || slash == templateRef.length() - 1) {
            throw new HypervisorException("The template of hypervisor " + id + " must be the path of a base image or"
                    + " pool/volume, was '" + templateRef + "'", false);
        }
        StoragePool pool = c.storagePoolLookupByName(templateRef.substring(0, slash));
        String volume = templateRef.substring(slash + 1);
        Optional<StorageVol> vol = volumeIn(pool, volume);
        if (vol.isEmpty()) {
            pool.refresh(0);
        }
        return vol.isPresent() ? vol.get() : pool.storageVolLookupByName(volume);
    }

    private static Optional<StorageVol> volume(Connect c, String path) throws LibvirtException {
        try {
            return Optional.of(c.storageVolLookupByPath(path));
        } catch (LibvirtException e) {
            if (LibvirtErrors.is(e, ErrorNumber.VIR_ERR_NO_STORAGE_VOL)) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private static Optional<StorageVol> volumeIn(StoragePool pool, String name) throws LibvirtException {
        try {
            return Optional.of(pool.storageVolLookupByName(name));
        } catch (LibvirtException e) {
            if (LibvirtErrors.is(e, ErrorNumber.VIR_ERR_NO_STORAGE_VOL)) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private static boolean exists(Connect c, String name) throws LibvirtException {
        try {
            c.domainLookupByName(name);
            return true;
        } catch (LibvirtException e) {
            if (LibvirtErrors.is(e, ErrorNumber.VIR_ERR_NO_DOMAIN)) {
                return false;
            }
            throw e;
        }
    }

    private void refreshPools(Connect c) {
        try {
            for (String name : c.listStoragePools()) {
                try {
                    c.storagePoolLookupByName(name).refresh(0);
                } catch (LibvirtException e) {
                    LOG.debugf("Hypervisor %s: pool %s not refreshed: %s", id, name, e.getMessage());
                }
            }
        } catch (LibvirtException e) {
            LOG.debugf("Hypervisor %s: pools not listed: %s", id, e.getMessage());
        }
    }

    private static Optional<Desktop> desktop(Domain d) throws LibvirtException {
        try {
            d.getMetadata(METADATA_ELEMENT, DomainXml.NAMESPACE, 0);
        } catch (LibvirtException e) {
            if (LibvirtErrors.is(e, ErrorNumber.VIR_ERR_NO_DOMAIN_METADATA)) {
                return Optional.empty();
            }
            throw e;
        }
        return DomainXml.desktop(d.getXMLDesc(0));
    }

    private Graphics graphics(Domain d, String type) throws LibvirtException {
        String name = d.getName();
        if (d.isActive() != 1) {
            throw new HypervisorException("VM " + name + " on hypervisor " + id + " is not running: no console", true);
        }
        return DomainXml.graphics(d.getXMLDesc(0)).stream().filter(g -> g.type().equals(type) && g.port() > 0)
                .findFirst().orElseThrow(() -> new HypervisorException("VM " + name + " on hypervisor " + id
                        + " has no " + type + " console", false));
    }

    private static void destroy(Domain d) throws LibvirtException {
        try {
            d.destroy();
        } catch (LibvirtException e) {
            if (!LibvirtErrors.is(e, ErrorNumber.VIR_ERR_OPERATION_INVALID)) {
                throw e; // "not running": it stopped by itself meanwhile
            }
        }
    }

    private HypervisorException notOurs(String vmRef, String what) {
        return new HypervisorException("Will not " + what + " VM " + vmRef + " on hypervisor " + id
                + ": it was not made by the broker (no broker metadata)", false);
    }

    /** Runs a long operation in the background and answers at once with its task. */
    private CompletionStage<TaskRef> start(Operation operation, String vm, Long deadline, String what, Step step) {
        if (vm == null || !VM_NAME.matcher(vm).matches()) {
            return failed("No VM " + vm + " on hypervisor " + id, false);
        }
        String taskId = operation.id + ":" + vm + (deadline == null ? "" : ":" + deadline);
        CompletableFuture<Void> job;
        try {
            job = submit(what, c -> {
                step.run(c);
                return null;
            });
        } catch (HypervisorException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (jobs.size() > 10_000) {
            jobs.values().removeIf(CompletableFuture::isDone); // tasks nobody polls any more
        }
        jobs.put(taskId, job);
        job.whenComplete((x, e) -> {
            if (e != null) {
                LOG.infof("Hypervisor %s: %s failed: %s", id, what, LibvirtErrors.map(id, what, e).getMessage());
            }
        });
        return CompletableFuture.completedFuture(new TaskRef(id, taskId, vm));
    }

    /** Runs a short call on this hypervisor's threads, bounded by the call timeout. */
    private <T> CompletionStage<T> call(String what, Call<T> action) {
        try {
            return submit(what, action);
        } catch (HypervisorException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private <T> CompletableFuture<T> submit(String what, Call<T> action) {
        CompletableFuture<T> result = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                if (result.isDone()) {
                    return; // timed out while it waited in the queue
                }
                try {
                    result.complete(action.run(connection.get()));
                } catch (Throwable e) {
                    if (LibvirtErrors.connectionLost(e)) {
                        connection.lost();
                    }
                    result.completeExceptionally(LibvirtErrors.map(id, what, e));
                }
            });
        } catch (RejectedExecutionException e) {
            throw new HypervisorException("Hypervisor " + id + " is busy: " + executor.getQueue().size()
                    + " libvirt calls are waiting; try again later", true);
        }
        long timeout = settings.callTimeout().toMillis();
        return result.orTimeout(timeout, TimeUnit.MILLISECONDS).exceptionallyCompose(e -> CompletableFuture
                .failedFuture(e instanceof TimeoutException
                        ? new HypervisorException("Hypervisor " + id + " did not " + what + " within " + timeout
                                + " ms", true)
                        : LibvirtErrors.map(id, what, e)));
    }

    @FunctionalInterface
    private interface Call<T> {
        T run(Connect c) throws LibvirtException;
    }

    @FunctionalInterface
    private interface Step {
        void run(Connect c) throws LibvirtException;
    }

    private static PowerState power(DomainState state) {
        if (state == null) {
            return PowerState.UNKNOWN;
        }
        return switch (state) {
            case VIR_DOMAIN_RUNNING, VIR_DOMAIN_BLOCKED, VIR_DOMAIN_SHUTDOWN -> PowerState.RUNNING;
            case VIR_DOMAIN_PAUSED, VIR_DOMAIN_PMSUSPENDED -> PowerState.SUSPENDED;
            case VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_CRASHED -> PowerState.STOPPED;
            default -> PowerState.UNKNOWN;
        };
    }

    /** virDomainXMLFlags: with secrets (console passwords), and the persistent rather than the live definition. */
    private static final int XML_SECURE = 1;
    private static final int XML_INACTIVE = 2;

    private String secret() {
        byte[] bytes = new byte[18];
        random.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
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

    /** The network desktops attach to exists and is active; the overlays' storage pool exists and is active. */
    @Override
    public CompletionStage<Map<String, String>> checkSettings() {
        return call("check the settings of hypervisor " + id, c -> {
            Map<String, String> problems = new java.util.LinkedHashMap<>();
            if (settings.network() != null) {
                try {
                    if (c.networkLookupByName(settings.network()).isActive() != 1) {
                        problems.put("config." + LibvirtSettings.NETWORK, "libvirt network '" + settings.network()
                                + "' exists but is not active: run virsh net-start " + settings.network()
                                + " (and virsh net-autostart " + settings.network() + ")");
                    }
                } catch (LibvirtException e) {
                    problems.put("config." + LibvirtSettings.NETWORK, "libvirt network '" + settings.network()
                            + "' does not exist on " + settings.uri() + ": " + e.getMessage());
                }
            }
            if (settings.storagePool() != null) {
                try {
                    if (c.storagePoolLookupByName(settings.storagePool()).isActive() != 1) {
                        problems.put("config." + LibvirtSettings.STORAGE_POOL, "storage pool '"
                                + settings.storagePool() + "' is not active: run virsh pool-start "
                                + settings.storagePool());
                    }
                } catch (LibvirtException e) {
                    problems.put("config." + LibvirtSettings.STORAGE_POOL, "storage pool '" + settings.storagePool()
                            + "' does not exist on " + settings.uri() + ": " + e.getMessage());
                }
            }
            return problems;
        });
    }

    /** The base image is a volume of a storage pool, and the host has memory for one desktop of this size at all. */
    @Override
    public CompletionStage<Map<String, String>> checkTemplate(String templateRef, int vcpus, long memoryMb) {
        return call("check template " + templateRef + " on hypervisor " + id, c -> {
            Map<String, String> problems = new java.util.LinkedHashMap<>();
            try {
                base(c, templateRef);
            } catch (HypervisorException e) {
                problems.put("templateRef", e.getMessage());
            } catch (LibvirtException e) {
                problems.put("templateRef", "template " + templateRef + " not found on hypervisor " + id + ": "
                        + e.getMessage());
            }
            NodeInfo node = c.nodeInfo();
            long hostMb = node.memory / 1024;
            if (memoryMb > hostMb) {
                problems.put("desktop", "a desktop of " + memoryMb + " MiB cannot run on hypervisor " + id
                        + ", whose host has " + hostMb + " MiB of memory in all");
            }
            return problems;
        });
    }

    @Override
    public void close() {
        executor.shutdownNow();
        connection.close();
    }

    @Override
    public String toString() {
        return "LibvirtDriver[" + id + ", " + settings.uri() + "]";
    }
}
