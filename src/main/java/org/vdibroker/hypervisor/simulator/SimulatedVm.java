package org.vdibroker.hypervisor.simulator;

import java.io.Serializable;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.infinispan.protostream.annotations.ProtoEnumValue;
import org.infinispan.protostream.annotations.ProtoFactory;
import org.infinispan.protostream.annotations.ProtoField;
import org.infinispan.protostream.annotations.ProtoName;
import org.vdibroker.cluster.WireInstant;
import org.vdibroker.hypervisor.VmInfo;
import org.vdibroker.hypervisor.VmInfo.PowerState;

/**
 * One VM of a simulated hypervisor, as the simulated host stores it in cache {@code simulator-vms}. It holds its
 * latest operation and the instant that operation completes; what the VM looks like at any moment is computed from
 * that, so no timer or thread is needed per VM.
 *
 * @param seq number of the VM on its host; gives its console port and guest IP
 * @param runningWhenDone whether the VM runs once {@code operation} has completed
 * @param operationFails whether {@code operation} (only ever a provision) fails when it completes
 * @param consolePasswordHash SHA-256 of the one-time console password, hex; null when none is set
 */
public record SimulatedVm(@ProtoField(number = 1) String vmRef, @ProtoField(number = 2) long seq,
        @ProtoField(number = 3) String name, @ProtoField(number = 4) String templateRef,
        @ProtoField(number = 5) int vcpus, @ProtoField(number = 6) long memoryMb,
        @ProtoField(number = 7, mapImplementation = HashMap.class) Map<String, String> metadata,
        @ProtoField(number = 8) Operation operation, @ProtoField(number = 9) int operationSeq, Instant completesAt,
        @ProtoField(number = 11) boolean operationFails, @ProtoField(number = 12) boolean runningWhenDone,
        @ProtoField(number = 13) String consolePasswordHash, Instant consolePasswordExpiresAt) implements Serializable {

    /** Read from ProtoStream: the instants travel as {@link WireInstant}s (fields 10 and 14). */
    @ProtoFactory
    static SimulatedVm proto(String vmRef, long seq, String name, String templateRef, int vcpus, long memoryMb,
            Map<String, String> metadata, Operation operation, int operationSeq, WireInstant wireCompletesAt,
            boolean operationFails, boolean runningWhenDone, String consolePasswordHash,
            WireInstant wireConsolePasswordExpiresAt) {
        return new SimulatedVm(vmRef, seq, name, templateRef, vcpus, memoryMb, metadata, operation, operationSeq,
                WireInstant.instant(wireCompletesAt), operationFails, runningWhenDone, consolePasswordHash,
                WireInstant.instant(wireConsolePasswordExpiresAt));
    }

    @ProtoField(number = 10)
    WireInstant wireCompletesAt() {
        return WireInstant.of(completesAt);
    }

    @ProtoField(number = 14)
    WireInstant wireConsolePasswordExpiresAt() {
        return WireInstant.of(consolePasswordExpiresAt);
    }

    /** What a simulated VM can be busy with; {@link #id} is part of task ids. */
    @ProtoName("SimulatedOperation")
    public enum Operation {
        @ProtoEnumValue(0) PROVISION("provision"), @ProtoEnumValue(1) POWER_ON("power-on"),
        @ProtoEnumValue(2) POWER_OFF("power-off"), @ProtoEnumValue(3) REVERT("revert"),
        @ProtoEnumValue(4) DELETE("delete");

        final String id;

        Operation(String id) {
            this.id = id;
        }

        static Operation byId(String id) {
            for (Operation operation : values()) {
                if (operation.id.equals(id)) {
                    return operation;
                }
            }
            return null;
        }
    }

    public SimulatedVm {
        metadata = Map.copyOf(metadata);
    }

    boolean done(Instant now) {
        return !now.isBefore(completesAt);
    }

    /** A clone that failed: the host removes it as soon as anyone looks (see {@link SimulatorDriver}). */
    boolean broken(Instant now) {
        return operationFails && done(now);
    }

    /** While an operation runs the VM is off: it is being cloned, reverted or booted. */
    PowerState power(Instant now) {
        if (broken(now)) {
            return PowerState.UNKNOWN;
        }
        return done(now) && runningWhenDone ? PowerState.RUNNING : PowerState.STOPPED;
    }

    VmInfo info(Instant now) {
        return new VmInfo(vmRef, name, power(now), vcpus, memoryMb);
    }

    String taskId() {
        return taskId(vmRef, operationSeq, operation);
    }

    static String taskId(String vmRef, int operationSeq, Operation operation) {
        return vmRef + ":" + operationSeq + ":" + operation.id;
    }

    /** The next operation; console passwords go with a power off or revert, like a real VM's live console config. */
    SimulatedVm next(Operation next, Instant nextCompletesAt, boolean running) {
        boolean keepsPassword = next == Operation.POWER_ON;
        return new SimulatedVm(vmRef, seq, name, templateRef, vcpus, memoryMb, metadata, next, operationSeq + 1,
                nextCompletesAt, false, running, keepsPassword ? consolePasswordHash : null,
                keepsPassword ? consolePasswordExpiresAt : null);
    }

    /** The metadata with {@code changes} replacing the values of their keys. */
    SimulatedVm withMetadata(Map<String, String> changes) {
        Map<String, String> merged = new java.util.HashMap<>(metadata);
        merged.putAll(changes);
        return new SimulatedVm(vmRef, seq, name, templateRef, vcpus, memoryMb, merged, operation, operationSeq,
                completesAt, operationFails, runningWhenDone, consolePasswordHash, consolePasswordExpiresAt);
    }

    SimulatedVm withConsolePassword(String hash, Instant expiresAt) {
        return new SimulatedVm(vmRef, seq, name, templateRef, vcpus, memoryMb, metadata, operation, operationSeq,
                completesAt, operationFails, runningWhenDone, hash, expiresAt);
    }

    /** Leaves out metadata and the password hash: they must never reach a log. */
    @Override
    public String toString() {
        return "SimulatedVm[vmRef=" + vmRef + ", name=" + name + ", operation=" + operation + "#" + operationSeq
                + ", completesAt=" + completesAt + "]";
    }
}
