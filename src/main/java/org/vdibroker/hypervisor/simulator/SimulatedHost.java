package org.vdibroker.hypervisor.simulator;

import java.io.Serializable;

/**
 * One simulated hypervisor as stored in cache {@code simulator-vms}: running totals of what its VMs use (so usage is
 * one read, not a scan), the last VM number handed out, and the failures a test or the demo injected. Changed only
 * by conditional replace.
 */
record SimulatedHost(long lastSeq, int desktops, int usedVcpus, long usedMemoryMb, boolean unreachable,
        int failNextProvisions, int failNextReverts, int loseNextProvisionAnswers, int loseNextPowerOnAnswers)
        implements Serializable {

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

    SimulatedHost withFailNextProvisions(int value) {
        return new SimulatedHost(lastSeq, desktops, usedVcpus, usedMemoryMb, unreachable, value, failNextReverts,
                loseNextProvisionAnswers, loseNextPowerOnAnswers);
    }

    SimulatedHost withFailNextReverts(int value) {
        return new SimulatedHost(lastSeq, desktops, usedVcpus, usedMemoryMb, unreachable, failNextProvisions, value,
                loseNextProvisionAnswers, loseNextPowerOnAnswers);
    }

    SimulatedHost withLoseNextProvisionAnswers(int value) {
        return new SimulatedHost(lastSeq, desktops, usedVcpus, usedMemoryMb, unreachable, failNextProvisions,
                failNextReverts, value, loseNextPowerOnAnswers);
    }

    SimulatedHost withLoseNextPowerOnAnswers(int value) {
        return new SimulatedHost(lastSeq, desktops, usedVcpus, usedMemoryMb, unreachable, failNextProvisions,
                failNextReverts, loseNextProvisionAnswers, value);
    }
}
