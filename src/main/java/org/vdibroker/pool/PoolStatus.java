package org.vdibroker.pool;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;

/**
 * How a pool is doing right now (admin API): {@code provisioning} is {@code ok} or {@code blocked}; when blocked,
 * {@code problem} says why (kind, detail, since, failures in a row). Desktops are counted by state.
 * {@code provisioningSeconds} is the pool's measured time from the start of a desktop's making (or refresh) until it
 * is ready, the mean of the latest ones that queue ETAs are computed from; absent until one became ready.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PoolStatus(String poolId, String provisioning, ProvisionProblem problem, Map<String, Long> desktops,
        long queueLength, Double provisioningSeconds) {
}
