package org.vdibroker.hypervisor.simulator;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;
import org.vdibroker.hypervisor.VmInfo.PowerState;
import org.vdibroker.hypervisor.simulator.SimulatedHost.Fault;
import org.vdibroker.hypervisor.simulator.SimulatedVm.Operation;

/**
 * What happens to simulated hypervisors outside the broker: injected failures for tests and the demo, and what a real
 * guest or console server would do (check a console ticket, read the metadata it was given). Works on the shared
 * cache, so a failure injected through one node is seen by all. Calls here bypass {@link #setUnreachable}.
 */
@ApplicationScoped
public class SimulatorControl {

    private static final Logger LOG = Logger.getLogger(SimulatorControl.class);

    /** Size of a VM that appears on a host without the broker. */
    static final int UNKNOWN_VM_VCPUS = 2;
    static final long UNKNOWN_VM_MEMORY_MB = 2048;

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    Instance<Clock> clocks;

    private SimulatorStore store;

    SimulatorControl() {
    }

    /** Outside CDI, e.g. in tests; give it the clock of the drivers it goes with. */
    public SimulatorControl(EmbeddedCacheManager manager, Clock clock) {
        this.store = new SimulatorStore(manager, clock);
    }

    /** A lost host: while set, every driver call for it fails with a retryable "hypervisor unreachable". */
    public void setUnreachable(String hypervisorId, boolean unreachable) {
        store().updateHost(hypervisorId, host -> host.withUnreachable(unreachable));
        LOG.infof("Simulator %s: %s", hypervisorId, unreachable ? "unreachable" : "reachable again");
    }

    /** The next {@code n} provisions on the host fail when they complete, whatever the failure rate. */
    public void failNextProvisions(String hypervisorId, int n) {
        inject(hypervisorId, n, Fault.FAIL_PROVISION, "the next %d provisions fail");
    }

    /**
     * The next {@code n} provisions on the host make their VM, but their caller gets no answer: the call fails as an
     * unreachable hypervisor, as a clone whose answer was lost on the network or came after the caller's timeout.
     */
    public void loseNextProvisionAnswers(String hypervisorId, int n) {
        inject(hypervisorId, n, Fault.LOSE_PROVISION_ANSWER,
                "the answers to the next %d provisions are lost");
    }

    /**
     * The next {@code n} starts of VMs on the host go through, but their caller gets no answer: the call fails as an
     * unreachable hypervisor.
     */
    public void loseNextPowerOnAnswers(String hypervisorId, int n) {
        inject(hypervisorId, n, Fault.LOSE_POWER_ON_ANSWER,
                "the answers to the next %d starts are lost");
    }

    /** The next {@code n} reverts (refreshes) on the host fail with a retryable error when they are asked for. */
    public void failNextReverts(String hypervisorId, int n) {
        inject(hypervisorId, n, Fault.FAIL_REVERT, "the next %d reverts fail");
    }

    /** Sets one of the host's failure counters to {@code n}; {@code what} says what it does, with {@code %d} for n. */
    private void inject(String hypervisorId, int n, Fault fault, String what) {
        if (n < 0) {
            throw new IllegalArgumentException("n must not be negative, was " + n);
        }
        store().updateHost(hypervisorId, host -> host.with(fault, n));
        LOG.infof("Simulator %s: " + what, hypervisorId, n);
    }

    /** Someone deletes a VM on the host itself; false if there was no such VM. */
    public boolean deleteVmBehindBrokersBack(String hypervisorId, String vmRef) {
        SimulatedVm removed = store().remove(hypervisorId, vmRef);
        if (removed == null) {
            return false;
        }
        LOG.infof("Simulator %s: %s deleted behind the broker's back", hypervisorId, vmRef);
        return true;
    }

    /** A running VM the broker never made appears on the host (it uses capacity there); returns its vmRef. */
    public String createVm(String hypervisorId, String name) {
        Instant now = store().clock().instant();
        SimulatedVm vm = store().create(hypervisorId, host -> host.add(UNKNOWN_VM_VCPUS, UNKNOWN_VM_MEMORY_MB),
                seq -> new SimulatedVm("vm-" + seq, seq, name, "", UNKNOWN_VM_VCPUS, UNKNOWN_VM_MEMORY_MB, Map.of(),
                        Operation.PROVISION, 1, now, false, true, null, null));
        LOG.infof("Simulator %s: unknown VM %s (%s) appeared", hypervisorId, vm.vmRef(), name);
        return vm.vmRef();
    }

    /**
     * What the VM's VNC/SPICE server does with a password: accepts it once if it matches the ticket set through the
     * driver, has not expired and the VM runs; a ticket that was accepted is used up.
     */
    public boolean authenticateConsole(String hypervisorId, String vmRef, String password) {
        if (password == null) {
            return false;
        }
        String hash = SimulatorStore.hash(password);
        boolean[] accepted = new boolean[1];
        store().updateVm(hypervisorId, vmRef, vm -> {
            Instant now = store().clock().instant();
            accepted[0] = vm.power(now) == PowerState.RUNNING
                    && vm.consolePasswordExpiresAt() != null && now.isBefore(vm.consolePasswordExpiresAt())
                    && SimulatorStore.sameHash(hash, vm.consolePasswordHash());
            return accepted[0] ? vm.withConsolePassword(null, null) : vm;
        });
        return accepted[0];
    }

    /**
     * The metadata the guest was given at provisioning or its latest refresh, e.g. its agent's secret. Callers must not
     * log the values.
     */
    public Map<String, String> guestMetadata(String hypervisorId, String vmRef) {
        SimulatedVm vm = store().vm(hypervisorId, vmRef);
        if (vm == null) {
            throw new IllegalArgumentException("No VM " + vmRef + " on simulated hypervisor " + hypervisorId);
        }
        return vm.metadata();
    }

    private SimulatorStore store() {
        if (store == null) {
            Clock clock = clocks.isResolvable() ? clocks.get() : Clock.systemUTC();
            store = new SimulatorStore(manager, clock);
        }
        return store;
    }
}
