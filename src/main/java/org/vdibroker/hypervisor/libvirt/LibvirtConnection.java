package org.vdibroker.hypervisor.libvirt;

import java.util.function.Consumer;
import org.jboss.logging.Logger;
import org.libvirt.Connect;
import org.libvirt.ConnectAuth;
import org.libvirt.LibvirtException;
import org.vdibroker.hypervisor.libvirt.ConsoleEvents.EventConnect;

/**
 * One hypervisor's libvirt connection, opened on first use and again after it was lost. libvirt connections are
 * thread-safe, so the driver's worker threads share it.
 */
final class LibvirtConnection implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(LibvirtConnection.class);

    private final String hypervisorId;
    private final LibvirtSettings settings;
    private final Consumer<String> consoleAuthenticated;

    private EventConnect connect;
    private ConsoleEvents events;
    private DomainXml.Guest guest;
    private boolean closed;

    LibvirtConnection(String hypervisorId, LibvirtSettings settings, Consumer<String> consoleAuthenticated) {
        this.hypervisorId = hypervisorId;
        this.settings = settings;
        this.consoleAuthenticated = consoleAuthenticated;
    }

    synchronized Connect get() throws LibvirtException {
        if (closed) {
            throw new IllegalStateException("the driver of hypervisor " + hypervisorId + " is closed");
        }
        if (connect != null && !alive()) {
            LOG.infof("libvirt connection to hypervisor %s lost; reconnecting", hypervisorId);
            drop();
        }
        if (connect == null) {
            open();
        }
        return connect;
    }

    /** The domain type and architecture new desktops get on this host. */
    synchronized DomainXml.Guest guest() throws LibvirtException {
        if (guest == null) {
            guest = DomainXml.guest(get().getCapabilities(), settings.domainType());
        }
        return guest;
    }

    /** Forgets a connection that failed, so the next call opens a new one. */
    synchronized void lost() {
        drop();
    }

    /** Whether console passwords are replaced as soon as a client used them. */
    synchronized boolean watchesConsoles() {
        return events != null;
    }

    private void open() throws LibvirtException {
        ConsoleEvents.startEventLoop();
        connect = settings.username() != null
                ? new EventConnect(settings.uri(), new Credentials(settings.username(), settings.password()))
                : new EventConnect(settings.uri());
        try {
            events = ConsoleEvents.register(connect, consoleAuthenticated);
        } catch (RuntimeException | LinkageError e) {
            events = null;
        }
        if (events == null) {
            LOG.warnf("Hypervisor %s: libvirt offers no console events; console tickets stay valid until they"
                    + " expire", hypervisorId);
        }
        LOG.infof("Connected to hypervisor %s (%s)", hypervisorId, settings.uri());
    }

    private boolean alive() {
        try {
            return connect.isAlive();
        } catch (LibvirtException e) {
            return false;
        }
    }

    private void drop() {
        if (connect == null) {
            return;
        }
        try {
            if (events != null) {
                events.deregister();
            }
            connect.close();
        } catch (LibvirtException | RuntimeException e) {
            LOG.debugf("Closing the libvirt connection of hypervisor %s: %s", hypervisorId, e.getMessage());
        }
        connect = null;
        events = null;
        guest = null;
    }

    @Override
    public synchronized void close() {
        closed = true;
        drop();
    }

    /** Answers libvirt's SASL prompts with the hypervisor's user name and password. */
    private static final class Credentials extends ConnectAuth {
        private final String username;
        private final String password;

        Credentials(String username, String password) {
            this.username = username;
            this.password = password;
            credType = new CredentialType[] { CredentialType.VIR_CRED_AUTHNAME, CredentialType.VIR_CRED_USERNAME,
                    CredentialType.VIR_CRED_PASSPHRASE };
        }

        @Override
        public int callback(Credential[] credentials) {
            for (Credential c : credentials) {
                switch (c.type) {
                    case VIR_CRED_AUTHNAME, VIR_CRED_USERNAME -> c.result = username;
                    case VIR_CRED_PASSPHRASE -> c.result = password == null ? "" : password;
                    default -> {
                        return -1;
                    }
                }
            }
            return 0;
        }
    }
}
