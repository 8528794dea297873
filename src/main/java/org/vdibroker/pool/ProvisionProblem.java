package org.vdibroker.pool;

import java.io.Serializable;
import java.time.Instant;

/**
 * Why a pool cannot provision desktops now. {@code kind} is stable for clients and alerts: {@code no-capacity},
 * {@code template-missing}, {@code network-inactive}, {@code network-missing}, {@code failing} (provisions or starts fail repeatedly),
 * {@code no-hypervisor} (none of its hypervisors is usable), {@code agent-silent} (desktops' agents never check in:
 * see SilentAgents). {@code detail} is a sentence for the admin.
 */
public record ProvisionProblem(String kind, String detail, Instant since, int failures) implements Serializable {
}
