package org.vdibroker.hypervisor.xenserver;

import java.net.MalformedURLException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.vdibroker.hypervisor.DriverConfigs;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.InvalidHypervisorConfigException;

/** The xenserver driver's configuration, read and checked from a hypervisor definition. */
record XenServerSettings(URL endpoint, String username, String password, String sr, Refresh refresh,
        Duration callTimeout, Duration taskTimeout, Duration shutdownTimeout, int concurrency) {

    /** How a desktop is brought back to its template's state at logoff. */
    enum Refresh { REVERT, RECLONE }

    static final String USERNAME = "username";
    static final String PASSWORD = "password";
    static final String SR = "sr";
    static final String REFRESH = "refresh";
    static final String CALL_TIMEOUT_MS = "callTimeoutMs";
    static final String TASK_TIMEOUT_MS = "taskTimeoutMs";
    static final String SHUTDOWN_TIMEOUT_MS = "shutdownTimeoutMs";

    static final List<DriverProperty> PROPERTIES = List.of(
            new DriverProperty(USERNAME, "XAPI user (root, or an AD user with the VM Power Admin role or higher).",
                    true, false),
            new DriverProperty(PASSWORD, "Password of the XAPI user.", true, true),
            DriverProperty.optional(SR, "Name label or UUID of the storage repository to copy desktops to (VM.copy:"
                    + " a full copy). Default: none, desktops are copy-on-write clones on the template's SR"
                    + " (VM.clone)."),
            DriverProperty.optional(REFRESH, "How a desktop is refreshed at logoff: revert (to the snapshot taken"
                    + " when it was made, VM.revert) or reclone (destroy it and clone it again). Default revert."),
            DriverProperty.optional(CALL_TIMEOUT_MS, "Longest a single XAPI call may take, in ms. Default 20000."),
            DriverProperty.optional(TASK_TIMEOUT_MS,
                    "Longest a provision, revert or delete may take before it counts as failed, in ms."
                            + " Default 600000."),
            DriverProperty.optional(SHUTDOWN_TIMEOUT_MS,
                    "How long a guest gets to shut down before it is powered off hard, in ms. Default 60000."));

    private static final long MAX_MS = Duration.ofHours(2).toMillis();

    static XenServerSettings validate(HypervisorDefinition definition) {
        DriverConfigs.rejectUnknown("xenserver", definition, PROPERTIES);
        for (String name : definition.credentials().keySet()) {
            if (!PASSWORD.equals(name)) {
                throw new InvalidHypervisorConfigException(name,
                        "Unknown xenserver credential '" + name + "'; accepted: " + PASSWORD);
            }
        }
        return from(definition);
    }

    static XenServerSettings from(HypervisorDefinition definition) {
        String username = definition.config().get(USERNAME);
        if (username == null || username.isBlank()) {
            throw new InvalidHypervisorConfigException(USERNAME, "A xenserver hypervisor needs a " + USERNAME);
        }
        String password = definition.credentials().get(PASSWORD);
        if (password == null || password.isEmpty()) {
            throw new InvalidHypervisorConfigException(PASSWORD,
                    "A xenserver hypervisor needs credentials.password for " + username);
        }
        String refresh = definition.config(REFRESH, "revert").trim().toLowerCase(Locale.ROOT);
        if (!refresh.equals("revert") && !refresh.equals("reclone")) {
            throw new InvalidHypervisorConfigException(REFRESH, REFRESH + " must be revert or reclone, was '"
                    + refresh + "'");
        }
        String sr = definition.config().get(SR);
        return new XenServerSettings(endpoint(definition.endpoint()), username, password,
                sr == null || sr.isBlank() ? null : sr.trim(), Refresh.valueOf(refresh.toUpperCase(Locale.ROOT)),
                Duration.ofMillis(DriverConfigs.millis(definition, CALL_TIMEOUT_MS, 20_000, 100, MAX_MS)),
                Duration.ofMillis(DriverConfigs.millis(definition, TASK_TIMEOUT_MS, 600_000, 100, MAX_MS)),
                Duration.ofMillis(DriverConfigs.millis(definition, SHUTDOWN_TIMEOUT_MS, 60_000, 1, MAX_MS)),
                Math.max(1, Math.min(definition.concurrencyLimit(), 64)));
    }

    private static URL endpoint(String endpoint) {
        if (endpoint == null || endpoint.isBlank()) {
            throw new InvalidHypervisorConfigException("endpoint",
                    "A xenserver hypervisor needs the pool master's URL as endpoint, e.g. https://xen-master.example");
        }
        try {
            URI uri = new URI(endpoint.trim());
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("https") && !scheme.equals("http") || uri.getHost() == null) {
                throw new InvalidHypervisorConfigException("endpoint",
                        "endpoint must be the pool master's http(s) URL, e.g. https://xen-master.example, was '"
                                + endpoint + "'");
            }
            if (uri.getRawUserInfo() != null) {
                throw new InvalidHypervisorConfigException("endpoint",
                        "endpoint must not carry a user or password: use config.username and credentials.password");
            }
            return uri.toURL();
        } catch (URISyntaxException | MalformedURLException | IllegalArgumentException e) {
            throw new InvalidHypervisorConfigException("endpoint", "endpoint is not a URL: " + e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "XenServerSettings[endpoint=" + endpoint + ", username=" + username + ", sr=" + sr + ", refresh="
                + refresh + "]";
    }
}
