package org.vdibroker.hypervisor.simulator;

import java.time.Duration;
import java.util.List;
import org.vdibroker.hypervisor.DriverConfigs;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.InvalidHypervisorConfigException;

/** The simulator's configuration, read and checked from a hypervisor definition. */
record SimulatorSettings(Duration cloneLatency, Duration bootLatency, double latencyJitter, double failureRate,
        String consoleHost, int consoleBasePort, HostCapacity capacity) {

    static final String CLONE_LATENCY_MS = "cloneLatencyMs";
    static final String BOOT_LATENCY_MS = "bootLatencyMs";
    static final String LATENCY_JITTER = "latencyJitter";
    static final String FAILURE_RATE = "failureRate";
    static final String CONSOLE_HOST = "consoleHost";
    static final String CONSOLE_BASE_PORT = "consoleBasePort";

    static final List<DriverProperty> PROPERTIES = List.of(
            DriverProperty.optional(CLONE_LATENCY_MS,
                    "How long a clone (provision, revert) takes, in ms. Default 2000."),
            DriverProperty.optional(BOOT_LATENCY_MS, "How long a VM takes to boot, in ms. Default 3000."),
            DriverProperty.optional(LATENCY_JITTER,
                    "0..1: each operation takes its latency times a random factor in [1-j, 1+j]. Default 0."),
            DriverProperty.optional(FAILURE_RATE, "0..1: probability that a provision fails. Default 0."),
            DriverProperty.optional(CONSOLE_HOST, "Host that VNC/SPICE consoles are reported on. Default 127.0.0.1."),
            DriverProperty.optional(CONSOLE_BASE_PORT,
                    "First VNC/SPICE console port; each VM gets one from here on. Default 5900."));

    private static final long MAX_LATENCY_MS = Duration.ofDays(1).toMillis();

    /** Strict check before a definition is saved: unknown properties are refused too, so a typo does not go unseen. */
    static SimulatorSettings validate(HypervisorDefinition definition) {
        DriverConfigs.rejectUnknown("simulator", definition, PROPERTIES);
        return from(definition);
    }

    /** Reads the known properties (defaults for absent ones) and checks their values. */
    static SimulatorSettings from(HypervisorDefinition definition) {
        return new SimulatorSettings(
                Duration.ofMillis(millis(definition, CLONE_LATENCY_MS, 2000)),
                Duration.ofMillis(millis(definition, BOOT_LATENCY_MS, 3000)),
                fraction(definition, LATENCY_JITTER),
                fraction(definition, FAILURE_RATE),
                consoleHost(definition),
                port(definition),
                capacity(definition));
    }

    private static long millis(HypervisorDefinition definition, String name, long fallback) {
        return DriverConfigs.millis(definition, name, fallback, 0, MAX_LATENCY_MS);
    }

    private static double fraction(HypervisorDefinition definition, String name) {
        String value = definition.config().get(name);
        if (value == null) {
            return 0;
        }
        try {
            double fraction = Double.parseDouble(value.trim());
            if (fraction >= 0 && fraction <= 1) {
                return fraction;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new InvalidHypervisorConfigException(name, name + " must be a number from 0 to 1, was '" + value + "'");
    }

    private static String consoleHost(HypervisorDefinition definition) {
        String value = definition.config(CONSOLE_HOST, "127.0.0.1");
        if (value.isBlank() || value.chars().anyMatch(Character::isWhitespace)) {
            throw new InvalidHypervisorConfigException(CONSOLE_HOST,
                    CONSOLE_HOST + " must be a host name or address without spaces, was '" + value + "'");
        }
        return value;
    }

    private static int port(HypervisorDefinition definition) {
        String value = definition.config(CONSOLE_BASE_PORT, "5900");
        try {
            int port = Integer.parseInt(value.trim());
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new InvalidHypervisorConfigException(CONSOLE_BASE_PORT,
                CONSOLE_BASE_PORT + " must be a port from 1 to 65535, was '" + value + "'");
    }

    private static HostCapacity capacity(HypervisorDefinition definition) {
        HostCapacity capacity = definition.capacity();
        if (capacity == null) {
            throw new InvalidHypervisorConfigException("capacity",
                    "The simulator needs a capacity (vcpus, memoryMb, maxDesktops): it has no real host to ask");
        }
        if (capacity.vcpus() < 1) {
            throw new InvalidHypervisorConfigException("vcpus", "vcpus must be at least 1, was " + capacity.vcpus());
        }
        if (capacity.memoryMb() < 1) {
            throw new InvalidHypervisorConfigException("memoryMb",
                    "memoryMb must be at least 1, was " + capacity.memoryMb());
        }
        if (capacity.maxDesktops() < 1) {
            throw new InvalidHypervisorConfigException("maxDesktops",
                    "maxDesktops must be at least 1, was " + capacity.maxDesktops());
        }
        return capacity;
    }
}
