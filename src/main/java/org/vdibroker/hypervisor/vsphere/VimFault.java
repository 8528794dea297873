package org.vdibroker.hypervisor.vsphere;

/**
 * A fault vSphere answered with: a SOAP fault of a call, or the error of a finished task. {@code type} is the vim25
 * fault type without its "Fault" suffix (e.g. {@code InvalidPowerState}, {@code NotAuthenticated}).
 */
final class VimFault extends RuntimeException {

    private final String type;

    VimFault(String type, String message) {
        super(message);
        this.type = type == null ? "SystemError" : type;
    }

    String type() {
        return type;
    }

    boolean is(String faultType) {
        return type.equals(faultType);
    }
}
