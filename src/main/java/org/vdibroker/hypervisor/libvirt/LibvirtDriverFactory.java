package org.vdibroker.hypervisor.libvirt;

import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.List;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorDriverFactory;

/**
 * Creates {@code libvirt} drivers: KVM/QEMU hosts ({@code qemu:///system}, {@code qemu+ssh://}, {@code qemu+tls://}),
 * Xen through libvirt's libxl driver ({@code xen:///system}) and libvirt's built-in test host
 * ({@code test:///default}). The endpoint is the libvirt URI. Needs libvirt's C library (Debian package libvirt0) on
 * the broker node; validation does not, so hypervisors can be defined on a node without it.
 */
@ApplicationScoped
public class LibvirtDriverFactory implements HypervisorDriverFactory {

    public static final String ID = "libvirt";

    @Override
    public String id() {
        return ID;
    }

    @Override
    public List<DriverProperty> properties() {
        return LibvirtSettings.PROPERTIES;
    }

    @Override
    public void validate(HypervisorDefinition definition) {
        LibvirtSettings.validate(definition);
    }

    /** Connects once with the definition and asks libvirt about its network and storage pool. */
    @Override
    public java.util.Map<String, String> checkLive(HypervisorDefinition definition) {
        try (LibvirtDriver probe = new LibvirtDriver(definition, LibvirtSettings.from(definition), Clock.systemUTC())) {
            return org.vdibroker.hypervisor.DriverCalls.await(probe.checkSettings(), java.time.Duration.ofSeconds(10));
        }
    }

    @Override
    public HypervisorDriver create(HypervisorDefinition definition) {
        return new LibvirtDriver(definition, LibvirtSettings.from(definition), Clock.systemUTC());
    }
}
