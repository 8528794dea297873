package org.vdibroker.hypervisor.hyperv;

import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.List;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorDriverFactory;

/**
 * Creates {@code hyperv} drivers: Windows Server Hyper-V hosts through WinRM (WS-Management) and PowerShell. The
 * endpoint is the host's WinRM URL, {@code https://host:5986/wsman} (plain http only with {@code allowHttp=true}).
 */
@ApplicationScoped
public class HyperVDriverFactory implements HypervisorDriverFactory {

    public static final String ID = "hyperv";

    @Override
    public String id() {
        return ID;
    }

    @Override
    public List<DriverProperty> properties() {
        return HyperVSettings.PROPERTIES;
    }

    @Override
    public void validate(HypervisorDefinition definition) {
        HyperVSettings.validate(definition);
    }

    @Override
    public HypervisorDriver create(HypervisorDefinition definition) {
        HyperVSettings settings = HyperVSettings.from(definition);
        return new HyperVDriver(definition, settings, new WinRmPowerShell(definition.id(), settings),
                Clock.systemUTC());
    }
}
