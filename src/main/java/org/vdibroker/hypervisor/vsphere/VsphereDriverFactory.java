package org.vdibroker.hypervisor.vsphere;

import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.vdibroker.hypervisor.DriverCalls;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorDriverFactory;

/**
 * Creates {@code vsphere} drivers: VMware vCenter or a standalone ESXi host through the vSphere Web Services (SOAP)
 * API. The endpoint is the SDK URL ({@code https://vc.example.com/sdk}); credentials are {@code username} and
 * {@code password}. The SOAP client is the driver's own ({@link VimClient}), so it can change without the broker
 * noticing.
 */
@ApplicationScoped
public class VsphereDriverFactory implements HypervisorDriverFactory {

    public static final String ID = "vsphere";

    @Override
    public String id() {
        return ID;
    }

    @Override
    public List<DriverProperty> properties() {
        return VsphereSettings.PROPERTIES;
    }

    @Override
    public void validate(HypervisorDefinition definition) {
        VsphereSettings.validate(definition);
    }

    /**
     * Asks vCenter whether the configured inventory names and network exist (see {@link VsphereDriver#checkSettings}).
     */
    @Override
    public Map<String, String> checkLive(HypervisorDefinition definition) {
        try (VsphereDriver probe = new VsphereDriver(definition, VsphereSettings.from(definition),
                Clock.systemUTC())) {
            return DriverCalls.await(probe.checkSettings(), Duration.ofSeconds(10));
        }
    }

    @Override
    public HypervisorDriver create(HypervisorDefinition definition) {
        return new VsphereDriver(definition, VsphereSettings.from(definition), Clock.systemUTC());
    }
}
