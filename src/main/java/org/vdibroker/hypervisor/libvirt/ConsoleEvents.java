package org.vdibroker.hypervisor.libvirt;

import com.sun.jna.Callback;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.util.function.Consumer;
import org.jboss.logging.Logger;
import org.libvirt.Connect;
import org.libvirt.ConnectAuth;
import org.libvirt.Library;
import org.libvirt.LibvirtException;

/**
 * Tells the driver when a client has authenticated on a VM's console (libvirt's graphics event, phase
 * "initialize"), so the one-time password can be replaced at once. The Java bindings do not offer this event, so it is
 * registered here through JNA on libvirt's own C API; the bindings' event loop delivers it.
 */
final class ConsoleEvents {

    private static final Logger LOG = Logger.getLogger(ConsoleEvents.class);

    /** {@code VIR_DOMAIN_EVENT_ID_GRAPHICS} */
    private static final int GRAPHICS_EVENT = 5;
    /** {@code VIR_DOMAIN_EVENT_GRAPHICS_INITIALIZE}: the client passed authentication. */
    private static final int PHASE_INITIALIZE = 1;

    private static Thread loop;

    /** The few C functions the bindings do not map. */
    interface Functions extends com.sun.jna.Library {
        int virConnectDomainEventRegisterAny(Pointer conn, Pointer dom, int eventId, GraphicsCallback callback,
                Pointer opaque, Pointer freeCallback);

        int virConnectDomainEventDeregisterAny(Pointer conn, int callbackId);

        String virDomainGetName(Pointer domain);

        void virSetErrorFunc(Pointer userData, ErrorCallback handler);
    }

    /** {@code virErrorFunc}: libvirt's default prints every error to stderr; the driver reports them itself. */
    interface ErrorCallback extends Callback {
        void invoke(Pointer userData, Pointer error);
    }

    private static final ErrorCallback QUIET = (userData, error) -> {
    };

    /** {@code virConnectDomainEventGraphicsCallback} */
    interface GraphicsCallback extends Callback {
        void invoke(Pointer conn, Pointer domain, int phase, Pointer local, Pointer remote, String authScheme,
                Pointer subject, Pointer opaque);
    }

    private static final class Holder {
        static final Functions C = Native.load("virt", Functions.class);
    }

    /** A connection whose native handle the events can be registered on. */
    static final class EventConnect extends Connect {
        EventConnect(String uri) throws LibvirtException {
            super(uri);
        }

        EventConnect(String uri, ConnectAuth auth) throws LibvirtException {
            super(uri, auth, 0);
        }

        Pointer pointer() {
            return vcp.getPointer();
        }
    }

    private final EventConnect connect;
    private final GraphicsCallback callback; // held so the JVM does not collect what C calls
    private final int callbackId;

    private ConsoleEvents(EventConnect connect, GraphicsCallback callback, int callbackId) {
        this.connect = connect;
        this.callback = callback;
        this.callbackId = callbackId;
    }

    /** Starts libvirt's event loop once per JVM; must run before the connections that want events are opened. */
    static synchronized void startEventLoop() throws LibvirtException {
        if (loop != null) {
            return;
        }
        Library.initEventLoop();
        Holder.C.virSetErrorFunc(null, QUIET);
        Thread t = new Thread(() -> {
            try {
                Library.runEventLoop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (LibvirtException e) {
                LOG.errorf("libvirt event loop stopped: %s", e.getMessage());
            }
        }, "libvirt-events");
        t.setDaemon(true);
        t.start();
        loop = t;
    }

    /** Calls {@code authenticated} with the domain's name whenever a console client passed authentication. */
    static ConsoleEvents register(EventConnect connect, Consumer<String> authenticated) {
        GraphicsCallback callback = (conn, domain, phase, local, remote, scheme, subject, opaque) -> {
            LOG.debugf("Console event: phase %d", phase);
            if (phase != PHASE_INITIALIZE) {
                return;
            }
            try {
                authenticated.accept(Holder.C.virDomainGetName(domain));
            } catch (RuntimeException e) {
                LOG.warnf("Console event not handled: %s", e.getMessage());
            }
        };
        int id = Holder.C.virConnectDomainEventRegisterAny(connect.pointer(), null, GRAPHICS_EVENT, callback, null,
                null);
        return id < 0 ? null : new ConsoleEvents(connect, callback, id);
    }

    void deregister() {
        if (callback != null) {
            Holder.C.virConnectDomainEventDeregisterAny(connect.pointer(), callbackId);
        }
    }
}
