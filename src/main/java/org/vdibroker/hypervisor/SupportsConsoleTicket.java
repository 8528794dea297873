package org.vdibroker.hypervisor;

import java.time.Instant;
import java.util.concurrent.CompletionStage;

/** A driver that can set a one-time console password (VNC/SPICE ticket) that expires. */
public interface SupportsConsoleTicket {

    CompletionStage<Void> setConsolePassword(String vmRef, String password, Instant expiresAt);
}
