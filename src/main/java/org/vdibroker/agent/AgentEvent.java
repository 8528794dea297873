package org.vdibroker.agent;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;

/**
 * What a desktop's agent reports. With a heartbeat it may say how long the user has had no input
 * ({@code idleSeconds}, 0 when active); the pool's idle timeout acts on that.
 */
public record AgentEvent(
        @NotNull @Pattern(regexp = "ready|logon|logoff|heartbeat|disconnect",
                message = "must be ready, logon, logoff, heartbeat or disconnect") String type,
        @Size(max = 255) String user,
        @Min(0) @Max(MAX_IDLE_SECONDS) Long idleSeconds) {

    /** Ten years: anything longer is a broken agent, not an idle user. */
    static final long MAX_IDLE_SECONDS = 315_360_000L;
}
