package org.vdibroker.hypervisor;

import java.util.List;

/** Checks drivers share when they read their configuration properties; messages name the property. */
public final class DriverConfigs {

    private DriverConfigs() {
    }

    /** Refuses configuration keys the driver does not know, so a typo does not go unseen. */
    public static void rejectUnknown(String driver, HypervisorDefinition definition, List<DriverProperty> known) {
        List<String> names = known.stream().filter(p -> !p.secret()).map(DriverProperty::name).toList();
        for (String name : definition.config().keySet()) {
            if (!names.contains(name)) {
                throw new InvalidHypervisorConfigException(name, "Unknown " + driver + " property '" + name
                        + "'; accepted: " + String.join(", ", names));
            }
        }
    }

    /** A whole number of milliseconds in [min, max], or {@code fallback} when absent. */
    public static long millis(HypervisorDefinition definition, String name, long fallback, long min, long max) {
        String value = definition.config().get(name);
        if (value == null) {
            return fallback;
        }
        try {
            long millis = Long.parseLong(value.trim());
            if (millis >= min && millis <= max) {
                return millis;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new InvalidHypervisorConfigException(name, name + " must be a whole number of milliseconds from " + min
                + " to " + max + ", was '" + value + "'");
    }
}
