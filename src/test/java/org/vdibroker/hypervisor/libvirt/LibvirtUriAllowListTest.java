package org.vdibroker.hypervisor.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.InvalidHypervisorConfigException;

/** libvirt URIs can run local programs and switch off host checks: only known-safe parameters pass. */
class LibvirtUriAllowListTest {

    private static HypervisorDefinition definition(String uri) {
        return new HypervisorDefinition("h", "libvirt", uri, Map.of(), Map.of(), new HostCapacity(16, 8192, 10), 4);
    }

    @Test
    void unsafeParametersAreRefused() {
        for (String uri : new String[] { "qemu+ssh://kvm1/system?command=/bin/sh",
                "qemu+ssh://kvm1/system?netcat=/tmp/evil", "qemu+tls://kvm1/system?no_verify=1",
                "qemu:///system?socket=/run/other.sock", "qemu+ssh://kvm1/system?known_hosts_verify=ignore",
                "qemu+ssh://kvm1/system?mode=direct&COMMAND=x", "qemu+ssh://kvm1/system?no_tty=1" }) {
            assertThatThrownBy(() -> LibvirtSettings.validate(definition(uri))).as(uri)
                    .isInstanceOf(InvalidHypervisorConfigException.class).hasMessageContaining("not allowed");
        }
    }

    @Test
    void safeParametersPass() {
        for (String uri : new String[] { "qemu:///system", "qemu+ssh://admin@kvm1/system?keyfile=/etc/vdi/id_ed25519",
                "qemu+tls://kvm1/system?pkipath=/etc/vdi/pki&tls_priority=NORMAL", "qemu:///system?mode=direct",
                "test:///default" }) {
            assertThat(LibvirtSettings.validate(definition(uri)).uri()).isEqualTo(uri);
        }
    }
}
