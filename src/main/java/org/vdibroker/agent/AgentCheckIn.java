package org.vdibroker.agent;

import java.io.Serializable;
import java.time.Instant;

/**
 * A desktop's agent checked in (any authenticated event) at {@code at}, with the secret whose hash starts with
 * {@code secretId}: enough to tell one secret of the desktop from the next, not to help guess it.
 */
public record AgentCheckIn(String secretId, Instant at) implements Serializable {
}
