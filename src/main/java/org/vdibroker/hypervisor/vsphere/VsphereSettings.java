package org.vdibroker.hypervisor.vsphere;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.vdibroker.hypervisor.DriverConfigs;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.InvalidHypervisorConfigException;

/** The vSphere driver's configuration, read and checked from a hypervisor definition. */
record VsphereSettings(URI sdk, String username, String password, String datacenter, String cluster, String host,
        String resourcePool, String vmFolder, String datastore, String network, CloneMode cloneMode, Refresh refresh,
        boolean ignoreTlsErrors,
        byte[] certificateSha256, Duration callTimeout, Duration taskPollInterval, Duration shutdownTimeout,
        String consoleHost, int concurrency) {

    /** How desktops are cloned from the template. */
    enum CloneMode {
        /** Linked clone from the template's current snapshot; a full clone when the template has none. */
        LINKED,
        /** Always a full copy of the template's disks. */
        FULL
    }

    /** How a desktop is brought back to its template's state at logoff. */
    enum Refresh {
        /** Revert to the desktop's own base snapshot, taken right after its clone. */
        REVERT,
        /** Destroy the desktop and clone it again from its template, under the same name (a new VM). */
        RECLONE
    }

    static final String DATACENTER = "datacenter";
    static final String CLUSTER = "cluster";
    static final String HOST = "host";
    static final String RESOURCE_POOL = "resourcePool";
    static final String VM_FOLDER = "vmFolder";
    static final String DATASTORE = "datastore";
    static final String NETWORK = "network";
    static final String CLONE_MODE = "cloneMode";
    static final String REFRESH = "refresh";
    static final String IGNORE_TLS_ERRORS = "ignoreTlsErrors";
    static final String CERTIFICATE_SHA256 = "certificateSha256";
    static final String CALL_TIMEOUT_MS = "callTimeoutMs";
    static final String TASK_POLL_MS = "taskPollMs";
    static final String SHUTDOWN_TIMEOUT_MS = "shutdownTimeoutMs";
    static final String CONSOLE_HOST = "consoleHost";
    static final String USERNAME = "username";
    static final String PASSWORD = "password";

    static final List<DriverProperty> PROPERTIES = List.of(
            new DriverProperty(DATACENTER, "Name of the datacenter (inventory path below the root folder).", true,
                    false),
            DriverProperty.optional(CLUSTER, "Cluster the desktops run in (name below the datacenter's host folder)."
                    + " Give cluster or host."),
            DriverProperty.optional(HOST, "Standalone ESXi host the desktops run on (name below the datacenter's host"
                    + " folder). Give cluster or host."),
            DriverProperty.optional(RESOURCE_POOL,
                    "Resource pool path below the cluster's or host's root pool, e.g. vdi/desktops. Default: the root"
                            + " pool."),
            DriverProperty.optional(VM_FOLDER,
                    "VM folder path below the datacenter's vm folder where desktops are created, e.g. vdi. Default:"
                            + " the vm folder itself."),
            DriverProperty.optional(DATASTORE, "Datastore for the desktops' disks. Default: the template's."),
            DriverProperty.optional(NETWORK, "Port group or distributed port group (path below the datacenter's"
                    + " network folder) the desktops' first network adapter is connected to. Default: the template's."),
            DriverProperty.optional(CLONE_MODE, "linked (from the template's current snapshot; a full clone when it"
                    + " has none) or full. Default linked."),
            DriverProperty.optional(REFRESH, "How a desktop is refreshed at logoff: revert (to its base snapshot"
                    + " taken right after the clone) or reclone (destroy it and clone it again from its template,"
                    + " same name, new VM). Default revert."),
            DriverProperty.optional(IGNORE_TLS_ERRORS, "true to accept any server certificate (tests only)."
                    + " Default false; prefer certificateSha256 for self-signed hosts."),
            DriverProperty.optional(CERTIFICATE_SHA256,
                    "SHA-256 fingerprint (hex, colons allowed) of the server certificate to trust instead of the JDK's"
                            + " CAs: the safe way to talk to a host with a self-signed certificate."),
            DriverProperty.optional(CALL_TIMEOUT_MS,
                    "Longest a single SOAP call may take, in ms; keep it below the broker's call-timeout."
                            + " Default 8000."),
            DriverProperty.optional(TASK_POLL_MS, "How soon the pool manager polls a running vSphere task again, in ms."
                    + " Default 1000."),
            DriverProperty.optional(SHUTDOWN_TIMEOUT_MS, "How long a guest with VMware Tools gets to shut down before"
                    + " it is powered off hard, in ms. Default 60000."),
            DriverProperty.optional(CONSOLE_HOST,
                    "Host name in VMRC links. Default: the endpoint's host."),
            DriverProperty.secret(USERNAME, "vCenter or ESXi user, e.g. vdi@vsphere.local."),
            DriverProperty.secret(PASSWORD, "That user's password."));

    private static final long MAX_MS = Duration.ofHours(1).toMillis();
    private static final Set<String> CREDENTIALS = Set.of(USERNAME, PASSWORD);

    /** Strict check before a definition is saved: unknown properties are refused, so a typo does not go unseen. */
    static VsphereSettings validate(HypervisorDefinition definition) {
        DriverConfigs.rejectUnknown("vsphere", definition, PROPERTIES);
        for (String name : definition.credentials().keySet()) {
            if (!CREDENTIALS.contains(name)) {
                throw new InvalidHypervisorConfigException(name,
                        "Unknown vsphere credential '" + name + "'; accepted: username, password");
            }
        }
        return from(definition);
    }

    static VsphereSettings from(HypervisorDefinition definition) {
        URI sdk = sdk(definition.endpoint());
        String username = definition.credentials().get(USERNAME);
        String password = definition.credentials().get(PASSWORD);
        if (username == null || username.isBlank() || password == null || password.isEmpty()) {
            throw new InvalidHypervisorConfigException(USERNAME,
                    "A vsphere hypervisor needs credentials.username and credentials.password");
        }
        String datacenter = path(definition, DATACENTER);
        if (datacenter == null) {
            throw new InvalidHypervisorConfigException(DATACENTER, "A vsphere hypervisor needs its " + DATACENTER);
        }
        String cluster = path(definition, CLUSTER);
        String host = path(definition, HOST);
        if ((cluster == null) == (host == null)) {
            throw new InvalidHypervisorConfigException(CLUSTER, "Give exactly one of " + CLUSTER + " and " + HOST);
        }
        String mode = definition.config(CLONE_MODE, "linked").trim().toLowerCase(Locale.ROOT);
        if (!mode.equals("linked") && !mode.equals("full")) {
            throw new InvalidHypervisorConfigException(CLONE_MODE, CLONE_MODE + " must be linked or full, was '"
                    + mode + "'");
        }
        String refresh = definition.config(REFRESH, "revert").trim().toLowerCase(Locale.ROOT);
        if (!refresh.equals("revert") && !refresh.equals("reclone")) {
            throw new InvalidHypervisorConfigException(REFRESH, REFRESH + " must be revert or reclone, was '"
                    + refresh + "'");
        }
        String ignore = definition.config(IGNORE_TLS_ERRORS, "false").trim();
        if (!ignore.equals("true") && !ignore.equals("false")) {
            throw new InvalidHypervisorConfigException(IGNORE_TLS_ERRORS,
                    IGNORE_TLS_ERRORS + " must be true or false, was '" + ignore + "'");
        }
        String consoleHost = definition.config(CONSOLE_HOST, sdk.getHost());
        if (consoleHost.isBlank() || !consoleHost.matches("[A-Za-z0-9.:\\[\\]-]+")) {
            throw new InvalidHypervisorConfigException(CONSOLE_HOST,
                    CONSOLE_HOST + " must be a host name or address, was '" + consoleHost + "'");
        }
        return new VsphereSettings(sdk, username, password, datacenter, cluster, host,
                path(definition, RESOURCE_POOL), path(definition, VM_FOLDER), path(definition, DATASTORE),
                path(definition, NETWORK), mode.equals("full") ? CloneMode.FULL : CloneMode.LINKED,
                refresh.equals("reclone") ? Refresh.RECLONE : Refresh.REVERT, Boolean.parseBoolean(ignore),
                fingerprint(definition), Duration.ofMillis(millis(definition, CALL_TIMEOUT_MS, 8_000)),
                Duration.ofMillis(millis(definition, TASK_POLL_MS, 1_000)),
                Duration.ofMillis(millis(definition, SHUTDOWN_TIMEOUT_MS, 60_000)), consoleHost,
                Math.max(1, Math.min(definition.concurrencyLimit(), 64)));
    }

    private static URI sdk(String endpoint) {
        if (endpoint == null || endpoint.isBlank()) {
            throw new InvalidHypervisorConfigException("endpoint",
                    "A vsphere hypervisor needs its SDK URL as endpoint, e.g. https://vc.example.com/sdk");
        }
        URI uri;
        try {
            uri = new URI(endpoint.trim());
        } catch (URISyntaxException e) {
            throw new InvalidHypervisorConfigException("endpoint", "endpoint is not a URL: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http") || uri.getHost() == null) {
            throw new InvalidHypervisorConfigException("endpoint",
                    "endpoint must be an https URL of the vSphere SDK, e.g. https://vc.example.com/sdk");
        }
        if (uri.getRawUserInfo() != null) {
            throw new InvalidHypervisorConfigException("endpoint",
                    "endpoint must not carry a user or password: put them in credentials");
        }
        if (uri.getPath() == null || uri.getPath().isEmpty() || uri.getPath().equals("/")) {
            uri = uri.resolve("/sdk");
        }
        return uri;
    }

    /** An inventory name or path: no leading or trailing slash, no empty parts. */
    private static String path(HypervisorDefinition definition, String property) {
        String value = definition.config().get(property);
        if (value == null || value.isBlank()) {
            return null;
        }
        String trimmed = value.trim();
        if (trimmed.startsWith("/") || trimmed.endsWith("/") || trimmed.contains("//") || trimmed.length() > 500) {
            throw new InvalidHypervisorConfigException(property, property
                    + " must be an inventory name or a path of names separated by '/', was '" + value + "'");
        }
        return trimmed;
    }

    private static byte[] fingerprint(HypervisorDefinition definition) {
        String value = definition.config().get(CERTIFICATE_SHA256);
        if (value == null || value.isBlank()) {
            return null;
        }
        String hex = value.replace(":", "").trim();
        if (hex.length() == 64 && hex.matches("[0-9a-fA-F]+")) {
            return HexFormat.of().parseHex(hex.toLowerCase(Locale.ROOT));
        }
        throw new InvalidHypervisorConfigException(CERTIFICATE_SHA256,
                CERTIFICATE_SHA256 + " must be 64 hex digits (colons allowed), was '" + value + "'");
    }

    private static long millis(HypervisorDefinition definition, String name, long fallback) {
        return DriverConfigs.millis(definition, name, fallback, 1, MAX_MS);
    }

    @Override
    public String toString() {
        return "VsphereSettings[sdk=" + sdk + ", datacenter=" + datacenter + ", cluster=" + cluster + ", host=" + host
                + "]";
    }
}
