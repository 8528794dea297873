package org.vdibroker.hypervisor.xenserver;

import jakarta.enterprise.context.ApplicationScoped;
import java.time.Clock;
import java.util.List;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorDriverFactory;

/**
 * Creates {@code xenserver} drivers: XenServer / Citrix Hypervisor and XCP-ng pools through XAPI (XML-RPC, the
 * official SDK). The endpoint is the pool master's URL; a member's URL works too (it names its master).
 */
@ApplicationScoped
public class XenServerDriverFactory implements HypervisorDriverFactory {

    public static final String ID = "xenserver";

    @Override
    public String id() {
        return ID;
    }

    @Override
    public List<DriverProperty> properties() {
        return XenServerSettings.PROPERTIES;
    }

    @Override
    public void validate(HypervisorDefinition definition) {
        XenServerSettings.validate(definition);
    }

    @Override
    public HypervisorDriver create(HypervisorDefinition definition) {
        return new XenServerDriver(definition, XenServerSettings.from(definition), Clock.systemUTC());
    }
}
