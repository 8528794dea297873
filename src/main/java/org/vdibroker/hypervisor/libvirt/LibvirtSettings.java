package org.vdibroker.hypervisor.libvirt;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.vdibroker.hypervisor.DriverConfigs;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.InvalidHypervisorConfigException;

/** The libvirt driver's configuration, read and checked from a hypervisor definition. */
record LibvirtSettings(String uri, String consoleListen, String consoleHost, List<String> consoles,
        String storagePool, String network, String diskBus, String domainType, Duration callTimeout,
        Duration shutdownTimeout, int concurrency, String username, String password, Duration spiceTicketGrace) {

    static final String CONSOLE_LISTEN = "consoleListen";
    static final String CONSOLE_HOST = "consoleHost";
    static final String CONSOLES = "consoles";
    static final String STORAGE_POOL = "storagePool";
    static final String NETWORK = "network";
    static final String DISK_BUS = "diskBus";
    static final String DOMAIN_TYPE = "domainType";
    static final String CALL_TIMEOUT_MS = "callTimeoutMs";
    static final String SHUTDOWN_TIMEOUT_MS = "shutdownTimeoutMs";
    static final String SPICE_TICKET_GRACE_MS = "spiceTicketGraceMs";
    static final String USERNAME = "username";
    static final String PASSWORD = "password";

    /** URI schemes this driver is meant for: QEMU/KVM local and remote, Xen through libxl, libvirt's test host. */
    static final Set<String> SCHEMES = Set.of("qemu", "qemu+ssh", "qemu+libssh", "qemu+tls", "qemu+tcp", "qemu+unix",
            "xen", "xen+ssh", "xen+libssh", "xen+tls", "xen+tcp", "xen+unix", "test");

    static final List<DriverProperty> PROPERTIES = List.of(
            DriverProperty.optional(CONSOLE_LISTEN,
                    "Address on the host that VM consoles (VNC, SPICE) listen on. Default 127.0.0.1."),
            DriverProperty.optional(CONSOLE_HOST,
                    "Host name or address clients are told to connect to. Default: consoleListen."),
            DriverProperty.optional(CONSOLES,
                    "Consoles each desktop gets: vnc, spice or vnc,spice. Default vnc,spice."),
            DriverProperty.optional(STORAGE_POOL, "libvirt storage pool for the desktops' qcow2 overlays."
                    + " Default: the pool of the template's base image."),
            DriverProperty.optional(NETWORK,
                    "libvirt network to attach each desktop to, e.g. default. Default: no NIC."),
            DriverProperty.optional(DISK_BUS, "Disk bus: virtio, sata, scsi or ide. Default virtio."),
            DriverProperty.optional(DOMAIN_TYPE,
                    "libvirt domain type (kvm, qemu, xen, ...). Default: the best the host offers (kvm before qemu)."),
            DriverProperty.optional(CALL_TIMEOUT_MS, "Longest a single libvirt call may take, in ms. Default 30000."),
            DriverProperty.optional(SHUTDOWN_TIMEOUT_MS,
                    "How long a guest gets to shut down before it is powered off hard, in ms. Default 60000."),
            DriverProperty.optional(SPICE_TICKET_GRACE_MS, "How long a SPICE ticket keeps opening channels after the"
                    + " first channel of a client linked with it, in ms (a SPICE client opens several). Default 5000."),
            DriverProperty.optional(USERNAME, "User name for SASL authentication (qemu+tcp, qemu+tls)."),
            DriverProperty.secret(PASSWORD, "Password for SASL authentication."));

    private static final Set<String> DISK_BUSES = Set.of("virtio", "sata", "scsi", "ide");
    private static final Pattern LIBVIRT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}");
    private static final long MAX_MS = Duration.ofHours(1).toMillis();

    /** Strict check before a definition is saved: unknown properties are refused, so a typo does not go unseen. */
    static LibvirtSettings validate(HypervisorDefinition definition) {
        DriverConfigs.rejectUnknown("libvirt", definition, PROPERTIES);
        for (String name : definition.credentials().keySet()) {
            if (!PASSWORD.equals(name)) {
                throw new InvalidHypervisorConfigException(name,
                        "Unknown libvirt credential '" + name + "'; accepted: " + PASSWORD);
            }
        }
        return from(definition);
    }

    /** Reads the known properties (defaults for absent ones) and checks their values. */
    static LibvirtSettings from(HypervisorDefinition definition) {
        String listen = address(definition.config(CONSOLE_LISTEN, "127.0.0.1"));
        String host = definition.config(CONSOLE_HOST, listen);
        if (host.isBlank() || host.chars().anyMatch(Character::isWhitespace)) {
            throw new InvalidHypervisorConfigException(CONSOLE_HOST,
                    CONSOLE_HOST + " must be a host name or address without spaces, was '" + host + "'");
        }
        String bus = definition.config(DISK_BUS, "virtio");
        if (!DISK_BUSES.contains(bus)) {
            throw new InvalidHypervisorConfigException(DISK_BUS,
                    DISK_BUS + " must be one of virtio, sata, scsi, ide, was '" + bus + "'");
        }
        String username = definition.config().get(USERNAME);
        String password = definition.credentials().get(PASSWORD);
        if (password != null && (username == null || username.isBlank())) {
            throw new InvalidHypervisorConfigException(USERNAME, "A password needs a " + USERNAME);
        }
        return new LibvirtSettings(uri(definition.endpoint()), listen, host, consoles(definition),
                name(definition, STORAGE_POOL), name(definition, NETWORK), bus, name(definition, DOMAIN_TYPE),
                Duration.ofMillis(millis(definition, CALL_TIMEOUT_MS, 30_000)),
                Duration.ofMillis(millis(definition, SHUTDOWN_TIMEOUT_MS, 60_000)),
                Math.max(1, Math.min(definition.concurrencyLimit(), 64)), username, password,
                Duration.ofMillis(millis(definition, SPICE_TICKET_GRACE_MS, 5_000)));
    }

    private static String uri(String endpoint) {
        if (endpoint == null || endpoint.isBlank()) {
            throw new InvalidHypervisorConfigException("endpoint",
                    "A libvirt hypervisor needs its URI as endpoint, e.g. qemu:///system or"
                            + " qemu+ssh://user@host/system");
        }
        URI uri;
        try {
            uri = new URI(endpoint.trim());
        } catch (URISyntaxException e) {
            throw new InvalidHypervisorConfigException("endpoint", "endpoint is not a libvirt URI: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!SCHEMES.contains(scheme)) {
            throw new InvalidHypervisorConfigException("endpoint", "endpoint must be a libvirt URI for QEMU/KVM, Xen"
                    + " or the test host (qemu:///system, qemu+ssh://, qemu+tls://, xen:///system, test:///default),"
                    + " was scheme '" + scheme + "'");
        }
        if (uri.getRawUserInfo() != null && uri.getRawUserInfo().contains(":")) {
            throw new InvalidHypervisorConfigException("endpoint",
                    "endpoint must not carry a password: put it in credentials.password");
        }
        if (uri.getRawQuery() != null) {
            for (String parameter : uri.getRawQuery().split("&")) {
                String name = parameter.split("=", 2)[0].toLowerCase(Locale.ROOT);
                if (!URI_PARAMETERS.contains(name)) {
                    throw new InvalidHypervisorConfigException("endpoint", "endpoint parameter '" + name
                            + "' is not allowed; allowed: "
                            + String.join(", ", new java.util.TreeSet<>(URI_PARAMETERS)));
                }
            }
        }
        return endpoint.trim();
    }

    /**
     * URI parameters that only choose among safe behaviours. Refused among others: command and netcat (run a program
     * named in the URI), socket (any local socket), no_verify and known_hosts_verify (turn off TLS/SSH host checks).
     */
    static final Set<String> URI_PARAMETERS = Set.of("mode", "proxy", "sshauth", "pkipath", "keyfile", "known_hosts",
            "tls_priority", "name");

    private static String address(String value) {
        // an address literal only: a name would make QEMU listen wherever that name resolves
        boolean literal = value.matches("[0-9.]+") || value.contains(":");
        try {
            if (literal) {
                InetAddress.getByName(value);
                return value;
            }
        } catch (Exception e) {
            // reported below
        }
        throw new InvalidHypervisorConfigException(CONSOLE_LISTEN,
                CONSOLE_LISTEN + " must be an IP address such as 127.0.0.1, was '" + value + "'");
    }

    private static List<String> consoles(HypervisorDefinition definition) {
        String value = definition.config(CONSOLES, "vnc,spice");
        LinkedHashSet<String> consoles = new LinkedHashSet<>();
        for (String part : value.split(",")) {
            String console = part.trim().toLowerCase(Locale.ROOT);
            if (!console.equals("vnc") && !console.equals("spice")) {
                throw new InvalidHypervisorConfigException(CONSOLES,
                        CONSOLES + " must list vnc and/or spice, separated by commas, was '" + value + "'");
            }
            consoles.add(console);
        }
        return List.copyOf(consoles);
    }

    private static String name(HypervisorDefinition definition, String property) {
        String value = definition.config().get(property);
        if (value == null || value.isBlank()) {
            return null;
        }
        if (!LIBVIRT_NAME.matcher(value).matches()) {
            throw new InvalidHypervisorConfigException(property,
                    property + " must be a libvirt name (letters, digits, . _ + -), was '" + value + "'");
        }
        return value;
    }

    private static long millis(HypervisorDefinition definition, String name, long fallback) {
        return DriverConfigs.millis(definition, name, fallback, 1, MAX_MS);
    }

    @Override
    public String toString() {
        return "LibvirtSettings[uri=" + uri + ", consoles=" + consoles + ", consoleListen=" + consoleListen + "]";
    }
}
