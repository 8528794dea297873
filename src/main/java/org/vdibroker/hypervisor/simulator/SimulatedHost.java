package org.vdibroker.hypervisor.simulator;

import java.io.Serializable;
import org.infinispan.protostream.annotations.ProtoField;

/**
 * One simulated hypervisor as stored in cache {@code simulator-vms}: running totals of what its VMs use (so usage is
 * one read, not a scan), the last VM number handed out, and the failures a test or the demo injected. Changed only
 * by conditional replace.
 */
public record SimulatedHost(@ProtoField(number = 1) long lastSeq, @ProtoField(number = 2) int desktops,
        @ProtoField(number = 3) int usedVcpus, @ProtoField(number = 4) long usedMemoryMb,
        @ProtoField(number = 5) boolean unreachable, @ProtoField(number = 6) int failNextProvisions,
        @ProtoField(number = 7) int failNextReverts, @ProtoField(number = 8) int loseNextProvisionAnswers,
        @ProtoField(number = 9) int loseNextPowerOnAnswers) implements Serializable {

    static final SimulatedHost EMPTY = new SimulatedHost(0, 0, 0, 0, false, 0, 0, 0, 0);

    /** Takes the next VM number and counts the new VM's resources. */
    SimulatedHost add(int vcpus, long memoryMb) {
        return new SimulatedHost(lastSeq + 1, desktops + 1, usedVcpus + vcpus, usedMemoryMb + memoryMb, unreachable,
                failNextProvisions, failNextReverts, loseNextProvisionAnswers, loseNextPowerOnAnswers);
    }

    SimulatedHost remove(int vcpus, long memoryMb) {
        return new SimulatedHost(lastSeq, Math.max(0, desktops - 1), Math.max(0, usedVcpus - vcpus),
                Math.max(0, usedMemoryMb - memoryMb), unreachable, failNextProvisions, failNextReverts,
                loseNextProvisionAnswers, loseNextPowerOnAnswers);
    }

    SimulatedHost withUnreachable(boolean value) {
        return new SimulatedHost(lastSeq, desktops, usedVcpus, usedMemoryMb, value, failNextProvisions,
                failNextReverts, loseNextProvisionAnswers, loseNextPowerOnAnswers);
    }

    /** A failure a test or the demo injected: the next so many calls of one kind go wrong. */
    enum Fault {
        /** Provisions that fail when they complete. */
        FAIL_PROVISION,
        /** Reverts refused when asked for. */
        FAIL_REVERT,
        /** Provisions that make their VM but whose answer is lost. */
        LOSE_PROVISION_ANSWER,
        /** Starts that go through but whose answer is lost. */
        LOSE_POWER_ON_ANSWER
    }

    /** How many more calls {@code fault} is to hit. */
    int left(Fault fault) {
        return switch (fault) {
            case FAIL_PROVISION -> failNextProvisions;
            case FAIL_REVERT -> failNextReverts;
            case LOSE_PROVISION_ANSWER -> loseNextProvisionAnswers;
            case LOSE_POWER_ON_ANSWER -> loseNextPowerOnAnswers;
        };
    }

    /** The host with {@code fault} to hit the next {@code n} calls. */
    SimulatedHost with(Fault fault, int n) {
        return new SimulatedHost(lastSeq, desktops, usedVcpus, usedMemoryMb, unreachable,
                fault == Fault.FAIL_PROVISION ? n : failNextProvisions,
                fault == Fault.FAIL_REVERT ? n : failNextReverts,
                fault == Fault.LOSE_PROVISION_ANSWER ? n : loseNextProvisionAnswers,
                fault == Fault.LOSE_POWER_ON_ANSWER ? n : loseNextPowerOnAnswers);
    }

    /** The host after one call hit by {@code fault}; itself when the fault has no call left to hit. */
    SimulatedHost hitOnce(Fault fault) {
        int left = left(fault);
        return left > 0 ? with(fault, left - 1) : this;
    }
}
