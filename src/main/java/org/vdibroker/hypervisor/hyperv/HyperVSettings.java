package org.vdibroker.hypervisor.hyperv;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.vdibroker.hypervisor.DriverConfigs;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.InvalidHypervisorConfigException;

/** The Hyper-V driver's configuration, read and checked from a hypervisor definition. */
record HyperVSettings(String url, String host, String authScheme, String domain, String username, String password,
        String diskDirectory, String switchName, RdpTarget rdpTarget, int vmConnectPort, boolean insecureTls,
        Duration callTimeout, Duration shutdownTimeout, Duration operationTimeout, int concurrency) {

    /** Where RDP clients of a Hyper-V desktop connect. */
    enum RdpTarget {
        /** the guest's own RDP service on its IP address (port 3389) */
        GUEST,
        /**
         * VMConnect: the host's port 2179 with the VM id as preconnection blob; works before the guest has a network
         */
        VMCONNECT,
        /** the guest when it reports an IP address, VMConnect until then */
        AUTO
    }

    static final String AUTH = "auth";
    static final String DOMAIN = "domain";
    static final String USERNAME = "username";
    static final String PASSWORD = "password";
    static final String ALLOW_HTTP = "allowHttp";
    static final String INSECURE_TLS = "insecureSkipTlsVerify";
    static final String DISK_DIRECTORY = "diskDirectory";
    static final String SWITCH = "switch";
    static final String RDP_TARGET = "rdpTarget";
    static final String VMCONNECT_PORT = "vmConnectPort";
    static final String CALL_TIMEOUT_MS = "callTimeoutMs";
    static final String SHUTDOWN_TIMEOUT_MS = "shutdownTimeoutMs";
    static final String OPERATION_TIMEOUT_MS = "operationTimeoutMs";

    static final int DEFAULT_VMCONNECT_PORT = 2179;

    static final List<DriverProperty> PROPERTIES = List.of(
            DriverProperty.optional(AUTH, "WinRM authentication: ntlm, kerberos or basic. Default ntlm."),
            DriverProperty.optional(DOMAIN, "Windows domain of the user (NTLM). Default: none."),
            new DriverProperty(USERNAME, "Windows account the broker runs PowerShell as on the Hyper-V host"
                    + " (member of Hyper-V Administrators and of the host's Remote Management Users).", true, false),
            DriverProperty.secret(PASSWORD, "Password of that account."),
            DriverProperty.optional(ALLOW_HTTP, "true to allow a plain http:// endpoint (port 5985): credentials"
                    + " and scripts then travel unencrypted unless NTLM encrypts them. Default false."),
            DriverProperty.optional(INSECURE_TLS, "true to accept any TLS certificate of the host (tests only)."
                    + " Default false."),
            DriverProperty.optional(DISK_DIRECTORY, "Directory on the host for the desktops' differencing disks,"
                    + " e.g. D:\\VDI\\Desktops. Default: the directory of the template's parent disk."),
            DriverProperty.optional(SWITCH, "Hyper-V virtual switch each desktop's network adapter connects to."
                    + " Default: no network adapter."),
            DriverProperty.optional(RDP_TARGET, "Where RDP clients connect: guest (the guest's IP, port 3389),"
                    + " vmconnect (the host's port 2179 with the VM id) or auto (guest once it has an IP). Default"
                    + " guest."),
            DriverProperty.optional(VMCONNECT_PORT, "The host's VMConnect port. Default 2179."),
            DriverProperty.optional(CALL_TIMEOUT_MS,
                    "Longest a short PowerShell call (usage, list, state) may take, in ms. Default 8000."),
            DriverProperty.optional(SHUTDOWN_TIMEOUT_MS,
                    "How long a guest gets to shut down before it is turned off, in ms. Default 60000."),
            DriverProperty.optional(OPERATION_TIMEOUT_MS,
                    "Longest a provision, revert or delete may take on the host, in ms. Default 300000."));

    private static final List<String> SCHEMES = List.of("ntlm", "kerberos", "basic");
    /** A Windows path with a drive letter or a UNC share, without characters Windows refuses in names. */
    private static final Pattern WINDOWS_DIR = Pattern.compile("([A-Za-z]:\\\\|\\\\\\\\)[^<>\"|?*\\r\\n\\x00]*");
    private static final Pattern SWITCH_NAME = Pattern.compile("[^\\r\\n\\x00]{1,100}");
    private static final long MAX_MS = Duration.ofHours(1).toMillis();

    /** Strict check before a definition is saved: unknown properties are refused, so a typo does not go unseen. */
    static HyperVSettings validate(HypervisorDefinition definition) {
        DriverConfigs.rejectUnknown("hyperv", definition, PROPERTIES);
        for (String name : definition.credentials().keySet()) {
            if (!PASSWORD.equals(name)) {
                throw new InvalidHypervisorConfigException(name,
                        "Unknown hyperv credential '" + name + "'; accepted: " + PASSWORD);
            }
        }
        return from(definition);
    }

    /** Reads the known properties (defaults for absent ones) and checks their values. */
    static HyperVSettings from(HypervisorDefinition definition) {
        boolean allowHttp = flag(definition, ALLOW_HTTP);
        URI uri = endpoint(definition.endpoint(), allowHttp);
        String auth = definition.config(AUTH, "ntlm").trim().toLowerCase(Locale.ROOT);
        if (!SCHEMES.contains(auth)) {
            throw new InvalidHypervisorConfigException(AUTH, AUTH + " must be ntlm, kerberos or basic, was '"
                    + auth + "'");
        }
        String username = definition.config().get(USERNAME);
        if (username == null || username.isBlank()) {
            throw new InvalidHypervisorConfigException(USERNAME, "A Hyper-V host needs the " + USERNAME
                    + " of a Windows account (and credentials.password)");
        }
        String disks = definition.config().get(DISK_DIRECTORY);
        if (disks != null && !WINDOWS_DIR.matcher(disks).matches()) {
            throw new InvalidHypervisorConfigException(DISK_DIRECTORY, DISK_DIRECTORY
                    + " must be an absolute Windows directory such as D:\\VDI\\Desktops, was '" + disks + "'");
        }
        String switchName = definition.config().get(SWITCH);
        if (switchName != null && !SWITCH_NAME.matcher(switchName).matches()) {
            throw new InvalidHypervisorConfigException(SWITCH, SWITCH + " must be a virtual switch name on one line");
        }
        RdpTarget target;
        try {
            target = RdpTarget.valueOf(definition.config(RDP_TARGET, "guest").trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidHypervisorConfigException(RDP_TARGET, RDP_TARGET
                    + " must be guest, vmconnect or auto, was '" + definition.config().get(RDP_TARGET) + "'");
        }
        int port = port(definition);
        return new HyperVSettings(uri.toString(), uri.getHost(), auth, definition.config().get(DOMAIN), username.trim(),
                definition.credentials().get(PASSWORD), disks == null ? null : trimSlash(disks), switchName, target,
                port, flag(definition, INSECURE_TLS),
                Duration.ofMillis(DriverConfigs.millis(definition, CALL_TIMEOUT_MS, 8_000, 100, MAX_MS)),
                Duration.ofMillis(DriverConfigs.millis(definition, SHUTDOWN_TIMEOUT_MS, 60_000, 0, MAX_MS)),
                Duration.ofMillis(DriverConfigs.millis(definition, OPERATION_TIMEOUT_MS, 300_000, 1_000, MAX_MS)),
                Math.max(1, Math.min(definition.concurrencyLimit(), 64)));
    }

    /** The WinRM URL: {@code https://host:5986/wsman}; a bare host name gets https, port 5986 and /wsman. */
    private static URI endpoint(String endpoint, boolean allowHttp) {
        if (endpoint == null || endpoint.isBlank()) {
            throw new InvalidHypervisorConfigException("endpoint",
                    "A Hyper-V host needs its WinRM URL as endpoint, e.g. https://hv01.example.com:5986/wsman");
        }
        String text = endpoint.trim();
        if (!text.contains("://")) {
            text = "https://" + text + (text.contains(":") ? "" : ":5986") + "/wsman";
        }
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new InvalidHypervisorConfigException("endpoint", "endpoint is not a URL: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !(scheme.equals("http") && allowHttp)) {
            throw new InvalidHypervisorConfigException("endpoint", "endpoint must be an https:// WinRM URL"
                    + (scheme.equals("http") ? " (set " + ALLOW_HTTP + "=true to allow plain http)" : "")
                    + ", was scheme '" + scheme + "'");
        }
        if (uri.getHost() == null || uri.getRawUserInfo() != null) {
            throw new InvalidHypervisorConfigException("endpoint",
                    "endpoint must name a host and carry no user or password (use username and credentials.password)");
        }
        if (uri.getPath() == null || uri.getPath().isEmpty() || uri.getPath().equals("/")) {
            uri = uri.resolve("/wsman");
        }
        return uri;
    }

    private static int port(HypervisorDefinition definition) {
        String value = definition.config().get(VMCONNECT_PORT);
        if (value == null) {
            return DEFAULT_VMCONNECT_PORT;
        }
        try {
            int port = Integer.parseInt(value.trim());
            if (port > 0 && port < 65536) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new InvalidHypervisorConfigException(VMCONNECT_PORT, VMCONNECT_PORT + " must be a TCP port, was '"
                + value + "'");
    }

    private static boolean flag(HypervisorDefinition definition, String name) {
        String value = definition.config(name, "false").trim().toLowerCase(Locale.ROOT);
        if (!value.equals("true") && !value.equals("false")) {
            throw new InvalidHypervisorConfigException(name, name + " must be true or false, was '" + value + "'");
        }
        return value.equals("true");
    }

    private static String trimSlash(String dir) {
        return dir.length() > 3 && dir.endsWith("\\") ? dir.substring(0, dir.length() - 1) : dir;
    }

    @Override
    public String toString() {
        return "HyperVSettings[url=" + url + ", auth=" + authScheme + ", user=" + username + "]";
    }
}
