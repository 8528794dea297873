package org.vdibroker.access;

import jakarta.validation.constraints.Pattern;

/** Body of a desktop request; everything optional. */
public record DesktopRequest(
        @Pattern(regexp = "rdp|spice|vnc|vmrc", message = "must be one of rdp, spice, vnc, vmrc") String protocol) {
}
