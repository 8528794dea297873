package org.vdibroker.pool;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The kind a pool's provisioning problem gets from the hypervisor's own message (as libvirt words them). */
class ProvisionProblemsTest {

    @Test
    void kindsFollowTheHypervisorsMessages() {
        assertThat(ProvisionProblems.classify("hypervisor kvm1: Cannot start VM d-1 on hypervisor kvm1: Requested"
                + " operation is not valid: network 'default' is not active")).isEqualTo("network-inactive");
        assertThat(ProvisionProblems.classify("Cannot start VM d-1: Network not found: no network with matching"
                + " name 'lab'")).isEqualTo("network-missing");
        assertThat(ProvisionProblems.classify("The template base image /var/lib/libvirt/images/x.qcow2 is not a"
                + " volume of any libvirt storage pool on hypervisor kvm1")).isEqualTo("template-missing");
        assertThat(ProvisionProblems.classify("Storage volume not found: no storage vol with matching name 'x'"))
                .isEqualTo("template-missing");
        assertThat(ProvisionProblems.classify("internal error: process exited while connecting to monitor"))
                .isEqualTo("failing");
        assertThat(ProvisionProblems.classify(null)).isEqualTo("failing");
    }
}
