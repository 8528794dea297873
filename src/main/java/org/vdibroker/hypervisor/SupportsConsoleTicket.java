package org.vdibroker.hypervisor;

import java.time.Instant;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/** A driver that can set a one-time console password (VNC/SPICE ticket) that expires. */
public interface SupportsConsoleTicket {

    /** The console protocols (vnc, spice) this driver's desktops have. */
    default Set<String> consoleProtocols() {
        return Set.of("vnc", "spice");
    }

    /** Sets the password on every console of the VM. */
    CompletionStage<Void> setConsolePassword(String vmRef, String password, Instant expiresAt);

    /**
     * Sets the password on the console of one protocol (vnc, spice) only, so a ticket issued for one protocol does
     * not open the other. Drivers that cannot tell consoles apart set it on all of them.
     */
    default CompletionStage<Void> setConsolePassword(String vmRef, String protocol, String password,
            Instant expiresAt) {
        return setConsolePassword(vmRef, password, expiresAt);
    }
}
