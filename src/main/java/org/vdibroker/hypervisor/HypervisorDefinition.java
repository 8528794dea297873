package org.vdibroker.hypervisor;

import java.util.Map;

/**
 * What a driver needs to connect to one hypervisor. {@code credentials} are decrypted and must stay in memory:
 * drivers never log them. {@code concurrencyLimit} bounds the operations a driver runs at once on this hypervisor.
 */
public record HypervisorDefinition(String id, String driver, String endpoint, Map<String, String> config,
        Map<String, String> credentials, HostCapacity capacity, int concurrencyLimit) {

    public static final int DEFAULT_CONCURRENCY_LIMIT = 20;

    public HypervisorDefinition {
        config = Map.copyOf(config);
        credentials = Map.copyOf(credentials);
    }

    public HypervisorDefinition(String id, String driver, String endpoint, Map<String, String> config,
            Map<String, String> credentials, HostCapacity capacity) {
        this(id, driver, endpoint, config, credentials, capacity, DEFAULT_CONCURRENCY_LIMIT);
    }

    public String config(String key, String fallback) {
        return config.getOrDefault(key, fallback);
    }

    @Override
    public String toString() {
        return "HypervisorDefinition[id=" + id + ", driver=" + driver + ", endpoint=" + endpoint + "]";
    }
}
