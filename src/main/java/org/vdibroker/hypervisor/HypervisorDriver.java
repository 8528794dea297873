package org.vdibroker.hypervisor;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The small contract every hypervisor offers the broker. Long operations return a {@link TaskRef} at once; the pool
 * manager polls {@link #pollTask(TaskRef)} after the suggested delay, from any broker node, so no request thread ever
 * waits on a hypervisor. Optional abilities are separate interfaces ({@link SupportsConsoleTicket},
 * {@link SupportsLinkedClone}, {@link SupportsGuestIp}).
 *
 * <p>Every call starts on its caller's thread (a request's worker, the pool manager's tick): a driver returns its
 * stage at once and does its network work on a non-blocking client or an executor of its own, as the libvirt,
 * vSphere, XenServer and Hyper-V drivers do, so its breaker's timeout can free the caller. Only work from memory may
 * happen in the call itself (the simulator's reads and writes of its replicated cache).
 */
public interface HypervisorDriver extends AutoCloseable {

    /** Capacity and current usage of the host or cluster behind this connection. */
    CompletionStage<HostUsage> usage();

    /** VMs whose name starts with {@code namePrefix}, as the hypervisor sees them (the truth for reconciliation). */
    CompletionStage<List<VmInfo>> listVms(String namePrefix);

    /** Clones (or creates) a VM from a template; the finished task's {@code vmRef} names the new VM. */
    CompletionStage<TaskRef> provision(ProvisionSpec spec);

    /**
     * Starts the VM. A VM that already runs (or, where the hypervisor can tell, is starting) is no error: the answer
     * is a task that succeeds, since the pool manager asks again when the answer to a start got lost.
     */
    CompletionStage<TaskRef> powerOn(String vmRef);

    CompletionStage<TaskRef> powerOff(String vmRef);

    /**
     * Brings a VM back to its template's state (revert a snapshot, recreate an overlay, re-clone) and leaves it powered
     * off, with {@code guestMetadata} given to the guest the same way as {@link ProvisionSpec#metadata()}: these keys
     * replace the values the guest had (a refresh hands the guest a new agent secret). The metadata is in place when
     * the returned task succeeds. Values are secrets: never logged.
     */
    CompletionStage<TaskRef> revert(String vmRef, Map<String, String> guestMetadata);

    CompletionStage<TaskRef> delete(String vmRef);

    CompletionStage<TaskStatus> pollTask(TaskRef task);

    /** Where a client connects for the given protocol. */
    CompletionStage<ConsoleAddress> consoleAddress(String vmRef, String protocol);

    @Override
    default void close() {
    }
}
