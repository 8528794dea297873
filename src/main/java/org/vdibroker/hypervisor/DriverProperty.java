package org.vdibroker.hypervisor;

/** One configuration property a driver accepts. */
public record DriverProperty(String name, String description, boolean required, boolean secret) {

    public static DriverProperty optional(String name, String description) {
        return new DriverProperty(name, description, false, false);
    }

    public static DriverProperty secret(String name, String description) {
        return new DriverProperty(name, description, false, true);
    }
}
