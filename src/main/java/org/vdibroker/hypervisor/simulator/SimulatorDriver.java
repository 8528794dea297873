package org.vdibroker.hypervisor.simulator;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.infinispan.commons.CacheException;
import org.jboss.logging.Logger;
import org.vdibroker.hypervisor.ConsoleAddress;
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
import org.vdibroker.hypervisor.simulator.SimulatedHost.Fault;
import org.vdibroker.hypervisor.simulator.SimulatedVm.Operation;

/**
 * A simulated hypervisor with the latency, capacity and failures of a real one, cheap enough for 100,000 desktops.
 * An operation only records when it completes; its state is worked out from the clock whenever it is polled or the
 * VM is listed, so idle VMs cost memory and nothing else. All state lives in cache {@code simulator-vms}, so a task
 * started through one broker node can be polled through any other. Every method answers at once, with a completed or
 * a failed stage; it never throws and never sleeps.
 */
public final class SimulatorDriver
        implements HypervisorDriver, SupportsConsoleTicket, SupportsLinkedClone, SupportsGuestIp {

    private static final Logger LOG = Logger.getLogger(SimulatorDriver.class);

    private static final int RDP_PORT = 3389;
    /** 192.0.2.1-254 and 198.51.100.1-254: documentation ranges, so nothing ever connects to a real machine. */
    private static final int GUEST_ADDRESSES = 2 * 254;

    private final String id;
    private final SimulatorSettings settings;
    private final SimulatorStore store;

    SimulatorDriver(HypervisorDefinition definition, SimulatorSettings settings, SimulatorStore store) {
        this.id = definition.id();
        this.settings = settings;
        this.store = store;
    }

    @Override
    public CompletionStage<HostUsage> usage() {
        return call(() -> {
            SimulatedHost host = store.host(id);
            return new HostUsage(settings.capacity(), host.usedVcpus(), host.usedMemoryMb(), host.desktops());
        });
    }

    @Override
    public CompletionStage<List<VmInfo>> listVms(String namePrefix) {
        return call(() -> {
            Instant now = now();
            String prefix = namePrefix == null ? "" : namePrefix;
            return store.vms(id).stream()
                    .filter(vm -> vm.name().startsWith(prefix))
                    .filter(vm -> !removedIfFailed(vm, now))
                    .sorted(Comparator.comparingLong(SimulatedVm::seq))
                    .map(vm -> vm.info(now))
                    .toList();
        });
    }

    @Override
    public CompletionStage<TaskRef> provision(ProvisionSpec spec) {
        return call(() -> {
            if (spec.name() == null || spec.name().isBlank() || spec.vcpus() < 1 || spec.memoryMb() < 1) {
                throw new HypervisorException("Cannot provision " + spec + ": it needs a name, vcpus and memory",
                        false);
            }
            Instant completesAt = now().plus(latency(settings.cloneLatency()));
            boolean drawnFailure = ThreadLocalRandom.current().nextDouble() < settings.failureRate();
            boolean[] injectedFailure = new boolean[1]; // as decided by the reservation that was written
            boolean[] answerLost = new boolean[1];
            SimulatedVm vm = store.create(id, host -> {
                requireReachable(host);
                requireRoom(host, spec);
                injectedFailure[0] = host.left(Fault.FAIL_PROVISION) > 0;
                answerLost[0] = host.left(Fault.LOSE_PROVISION_ANSWER) > 0;
                return host.add(spec.vcpus(), spec.memoryMb()).hitOnce(Fault.FAIL_PROVISION)
                        .hitOnce(Fault.LOSE_PROVISION_ANSWER);
            }, seq -> new SimulatedVm("vm-" + seq, seq, spec.name(), spec.templateRef(), spec.vcpus(),
                    spec.memoryMb(), spec.metadata(), Operation.PROVISION, 1, completesAt,
                    injectedFailure[0] || drawnFailure, false, null, null));
            LOG.debugf("Simulator %s: provisioning %s as %s until %s", id, spec, vm.vmRef(), completesAt);
            if (answerLost[0]) {
                throw HypervisorException.unreachable("Simulated hypervisor " + id + " made " + vm.vmRef()
                        + " but its answer was lost", null);
            }
            return task(vm);
        });
    }

    @Override
    public CompletionStage<TaskRef> powerOn(String vmRef) {
        return call(() -> {
            Duration boot = latency(settings.bootLatency());
            // as on the real hypervisors, starting a VM that runs or is starting is no error: its start is the answer
            TaskRef task = task(start(vmRef, Operation.POWER_ON, (vm, now) -> vm.power(now) == PowerState.RUNNING
                    ? vm.next(Operation.POWER_ON, now, true)
                    : vm.next(Operation.POWER_ON, now.plus(boot), true)));
            if (hit(Fault.LOSE_POWER_ON_ANSWER)) {
                throw HypervisorException.unreachable("Simulated hypervisor " + id + " started " + vmRef
                        + " but its answer was lost", null);
            }
            return task;
        });
    }

    @Override
    public CompletionStage<TaskRef> powerOff(String vmRef) {
        return call(() -> task(start(vmRef, (vm, now) -> vm.next(Operation.POWER_OFF, now, false))));
    }

    @Override
    public CompletionStage<TaskRef> revert(String vmRef, Map<String, String> guestMetadata) {
        return call(() -> {
            requireVm(vmRef);
            if (hit(Fault.FAIL_REVERT)) {
                throw new HypervisorException("Revert of " + vmRef + " failed on simulated hypervisor " + id, true);
            }
            Duration clone = latency(settings.cloneLatency());
            // the guest's new metadata (its new agent secret) comes with the reverted disk, as on a real hypervisor
            return task(start(vmRef, (vm, now) -> vm.withMetadata(guestMetadata)
                    .next(Operation.REVERT, now.plus(clone), false)));
        });
    }

    /**
     * Whether this call is one that an injected {@code fault} hits, counting it down if so. Reads first: a call with
     * no fault injected (every call but in tests) writes nothing to the host's entry.
     */
    private boolean hit(Fault fault) {
        if (store.host(id).left(fault) == 0) {
            return false;
        }
        boolean[] hit = new boolean[1];
        store.updateHost(id, host -> {
            hit[0] = host.left(fault) > 0;
            return host.hitOnce(fault);
        });
        return hit[0];
    }

    /** Takes effect at once, even on a busy VM, like a forced destroy. */
    @Override
    public CompletionStage<TaskRef> delete(String vmRef) {
        return call(() -> {
            SimulatedVm removed = store.remove(id, vmRef);
            if (removed == null) {
                throw unknownVm(vmRef);
            }
            LOG.debugf("Simulator %s: deleted %s", id, removed);
            return new TaskRef(id, SimulatedVm.taskId(vmRef, removed.operationSeq() + 1, Operation.DELETE), vmRef);
        });
    }

    @Override
    public CompletionStage<TaskStatus> pollTask(TaskRef task) {
        return call(() -> {
            if (!id.equals(task.hypervisorId())) {
                throw new HypervisorException("Task " + task.taskId() + " belongs to hypervisor " + task.hypervisorId()
                        + ", not " + id, false);
            }
            // task id: <vmRef>:<operationSeq>:<operation>
            String taskId = task.taskId();
            int last = taskId.lastIndexOf(':');
            int middle = last < 0 ? -1 : taskId.lastIndexOf(':', last - 1);
            Operation operation = last < 0 ? null : Operation.byId(taskId.substring(last + 1));
            int seq = middle < 1 ? -1 : parseSeq(taskId.substring(middle + 1, last));
            if (operation == null || seq < 1) {
                throw unknownTask(taskId);
            }
            String vmRef = taskId.substring(0, middle);
            SimulatedVm vm = store.vm(id, vmRef);
            if (vm == null) {
                return operation == Operation.DELETE
                        ? TaskStatus.succeeded(vmRef)
                        : TaskStatus.failed("VM " + vmRef + " no longer exists on hypervisor " + id, false);
            }
            if (seq < vm.operationSeq()) {
                return TaskStatus.succeeded(vmRef); // a VM starts an operation only once the one before completed
            }
            if (seq > vm.operationSeq() || operation != vm.operation()) {
                throw unknownTask(taskId);
            }
            Instant now = now();
            if (!vm.done(now)) {
                return TaskStatus.running(Duration.between(now, vm.completesAt()));
            }
            if (removedIfFailed(vm, now)) {
                return TaskStatus.failed("Clone of " + vmRef + " failed on simulated hypervisor " + id, true);
            }
            return TaskStatus.succeeded(vmRef);
        });
    }

    @Override
    public CompletionStage<ConsoleAddress> consoleAddress(String vmRef, String protocol) {
        return call(() -> {
            SimulatedVm vm = requireVm(vmRef);
            String name = protocol == null ? "" : protocol.toLowerCase(Locale.ROOT);
            return switch (name) {
                case "vnc", "spice" -> new ConsoleAddress(name, settings.consoleHost(), consolePort(vm));
                case "rdp" -> guestIp(vm).map(ip -> new ConsoleAddress(name, ip, RDP_PORT))
                        .orElseThrow(() -> new HypervisorException(
                                "VM " + vmRef + " has no guest IP address: it is not running", true));
                default -> throw new HypervisorException(
                        "Protocol '" + protocol + "' is not offered by the simulator (rdp, spice, vnc)", false);
            };
        });
    }

    @Override
    public CompletionStage<Optional<String>> guestIp(String vmRef) {
        return call(() -> guestIp(requireVm(vmRef)));
    }

    @Override
    public CompletionStage<Void> setConsolePassword(String vmRef, String password, Instant expiresAt) {
        return call(() -> {
            if (password == null || password.isEmpty() || expiresAt == null) {
                throw new HypervisorException("A console password and its expiry are required", false);
            }
            String hash = SimulatorStore.hash(password);
            requireVm(vmRef);
            SimulatedVm vm = store.updateVm(id, vmRef, current -> {
                if (current.broken(now())) {
                    throw unknownVm(vmRef); // it failed just now; the next look removes it
                }
                return current.withConsolePassword(hash, expiresAt);
            });
            if (vm == null) {
                throw unknownVm(vmRef);
            }
            return null;
        });
    }

    /** Starts the next operation of an idle VM. */
    private SimulatedVm start(String vmRef, NextOperation next) {
        return start(vmRef, null, next);
    }

    /** {@link #start(String, NextOperation)}, where an operation {@code same} under way is the answer, not "busy". */
    private SimulatedVm start(String vmRef, Operation same, NextOperation next) {
        requireVm(vmRef);
        SimulatedVm vm = store.updateVm(id, vmRef, current -> {
            Instant now = now();
            if (current.broken(now)) {
                throw unknownVm(vmRef); // it failed just now; the next look removes it
            }
            if (!current.done(now) && current.operation() == same) {
                return current;
            }
            if (!current.done(now)) {
                // like a real host's "other operation in progress": the pool manager tries again later
                throw new HypervisorException("VM " + vmRef + " is busy: " + current.operation().id + " until "
                        + current.completesAt(), true);
            }
            return next.apply(current, now);
        });
        if (vm == null) {
            throw unknownVm(vmRef);
        }
        LOG.debugf("Simulator %s: %s", id, vm);
        return vm;
    }

    private interface NextOperation {
        SimulatedVm apply(SimulatedVm current, Instant now);
    }

    private <T> CompletionStage<T> call(Supplier<T> action) {
        try {
            requireReachable(store.host(id));
            return CompletableFuture.completedFuture(action.get());
        } catch (HypervisorException e) {
            return CompletableFuture.failedFuture(e);
        } catch (CacheException e) {
            return CompletableFuture.failedFuture(
                    new HypervisorException("Simulated hypervisor " + id + " cannot be reached", true, e));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private void requireReachable(SimulatedHost host) {
        if (host.unreachable()) {
            throw HypervisorException.unreachable("hypervisor unreachable", null);
        }
    }

    private void requireRoom(SimulatedHost host, ProvisionSpec spec) {
        var capacity = settings.capacity();
        String missing = null;
        if (host.desktops() + 1 > capacity.maxDesktops()) {
            missing = "desktops " + host.desktops() + " of " + capacity.maxDesktops();
        } else if (host.usedVcpus() + spec.vcpus() > capacity.vcpus()) {
            missing = "vcpus " + host.usedVcpus() + "+" + spec.vcpus() + " of " + capacity.vcpus();
        } else if (host.usedMemoryMb() + spec.memoryMb() > capacity.memoryMb()) {
            missing = "memoryMb " + host.usedMemoryMb() + "+" + spec.memoryMb() + " of " + capacity.memoryMb();
        }
        if (missing != null) {
            throw new HypervisorException("Capacity of hypervisor " + id + " exceeded: " + missing, false);
        }
    }

    private SimulatedVm requireVm(String vmRef) {
        SimulatedVm vm = vmRef == null ? null : store.vm(id, vmRef);
        if (vm == null || removedIfFailed(vm, now())) {
            throw unknownVm(vmRef);
        }
        return vm;
    }

    /**
     * Like a real host, the simulator cleans up after a failed clone, so the broker (which never learns the ref of a
     * VM whose provision failed) leaves nothing behind. It happens the first time anyone looks at the VM after the
     * failure, which keeps the simulator free of timers; until then the clone's resources stay counted.
     */
    private boolean removedIfFailed(SimulatedVm vm, Instant now) {
        if (!vm.broken(now)) {
            return false;
        }
        if (store.remove(id, vm.vmRef(), current -> current.broken(now)) != null) {
            LOG.debugf("Simulator %s: failed clone %s removed", id, vm.vmRef());
        }
        return true;
    }

    private Optional<String> guestIp(SimulatedVm vm) {
        if (vm.power(now()) != PowerState.RUNNING) {
            return Optional.empty(); // a guest reports its address only once it runs
        }
        int index = Math.floorMod(31L * id.hashCode() + vm.seq(), GUEST_ADDRESSES);
        return Optional.of(index < 254 ? "192.0.2." + (index + 1) : "198.51.100." + (index - 254 + 1));
    }

    private int consolePort(SimulatedVm vm) {
        int base = settings.consoleBasePort();
        return base + (int) (vm.seq() % (65536 - base));
    }

    /** The base latency times a random factor in [1 - jitter, 1 + jitter]. */
    private Duration latency(Duration base) {
        double jitter = settings.latencyJitter();
        if (jitter == 0) {
            return base;
        }
        double factor = 1 - jitter + 2 * jitter * ThreadLocalRandom.current().nextDouble();
        return Duration.ofMillis(Math.round(base.toMillis() * factor));
    }

    private Instant now() {
        return store.clock().instant();
    }

    private TaskRef task(SimulatedVm vm) {
        return new TaskRef(id, vm.taskId(), vm.vmRef());
    }

    private static int parseSeq(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private HypervisorException unknownVm(String vmRef) {
        return new HypervisorException("No VM " + vmRef + " on hypervisor " + id, false);
    }

    private HypervisorException unknownTask(String taskId) {
        return new HypervisorException("No task " + taskId + " on hypervisor " + id, false);
    }

    @Override
    public String toString() {
        return "SimulatorDriver[" + id + "]";
    }
}
