package org.vdibroker.hypervisor;

import java.util.List;

/**
 * Creates drivers of one type (in the style of Keycloak's ProviderFactory). Implementations are CDI beans;
 * the broker finds them by {@link #id()}.
 */
public interface HypervisorDriverFactory {

    /** Driver type, e.g. {@code simulator} or {@code libvirt}; stored with each hypervisor. */
    String id();

    /** Configuration properties this driver accepts; secret ones are written encrypted and never returned. */
    List<DriverProperty> properties();

    /**
     * Checks a definition before it is saved.
     *
     * @throws InvalidHypervisorConfigException naming the offending property
     */
    void validate(HypervisorDefinition definition);

    /**
     * Asks the hypervisor whether the definition works there (networks, storage), before it is saved: problems
     * keyed by field, empty when all is well or when this driver cannot tell.
     *
     * @throws HypervisorException when the hypervisor cannot be asked (the caller saves with a warning)
     */
    default java.util.Map<String, String> checkLive(HypervisorDefinition definition) {
        return java.util.Map.of();
    }

    /** Creates a driver for one hypervisor; called once per definition version, closed when it changes. */
    HypervisorDriver create(HypervisorDefinition definition);
}
