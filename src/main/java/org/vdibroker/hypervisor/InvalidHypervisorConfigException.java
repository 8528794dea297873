package org.vdibroker.hypervisor;

/** A hypervisor definition a driver refuses; the message names the property and is safe to show an admin. */
public class InvalidHypervisorConfigException extends RuntimeException {

    private final String property;

    public InvalidHypervisorConfigException(String property, String message) {
        super(message);
        this.property = property;
    }

    public String property() {
        return property;
    }
}
