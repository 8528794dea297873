package org.vdibroker.agent;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;

/** What a desktop's agent reports. */
public record AgentEvent(
        @NotNull @Pattern(regexp = "ready|logon|logoff|heartbeat|disconnect", message = "must be ready, logon, logoff, heartbeat or disconnect") String type,
        String user) {
}
