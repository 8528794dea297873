package org.vdibroker.hypervisor;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

/** A driver that can tell a VM's guest IP address (for RDP straight to the guest). */
public interface SupportsGuestIp {

    CompletionStage<Optional<String>> guestIp(String vmRef);
}
