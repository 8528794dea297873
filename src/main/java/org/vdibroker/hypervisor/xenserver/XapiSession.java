package org.vdibroker.hypervisor.xenserver;

import com.xensource.xenapi.Connection;
import com.xensource.xenapi.Session;
import com.xensource.xenapi.Types;
import java.net.MalformedURLException;
import java.net.URL;
import org.jboss.logging.Logger;
import org.vdibroker.hypervisor.HypervisorException;

/**
 * One logged-in XAPI session with the pool master. A {@code HOST_IS_SLAVE} answer (the endpoint is a pool member,
 * or the master moved) makes it log in at the master it names; {@code SESSION_INVALID} (the session expired or the
 * master restarted) logs in again once; when the master stops answering, the next call starts again from the
 * configured endpoint, which names the new master.
 */
final class XapiSession {

    private static final Logger LOG = Logger.getLogger(XapiSession.class);
    private static final String ORIGINATOR = "vdi-broker";

    /** A call with a logged-in connection. */
    interface Call<T> {
        T apply(Connection c) throws Exception;
    }

    private final String id;
    private final XenServerSettings settings;
    private URL master;
    private Connection connection;

    XapiSession(String id, XenServerSettings settings) {
        this.id = id;
        this.settings = settings;
        this.master = settings.endpoint();
    }

    <T> T call(Call<T> call) throws Exception {
        for (int attempt = 1;; attempt++) {
            Connection c = connection();
            try {
                return call.apply(c);
            } catch (Types.SessionInvalid e) {
                dropIf(c);
                if (attempt >= 2) {
                    throw HypervisorException.unreachable("Hypervisor " + id + ": the XAPI session was invalidated"
                            + " again right after logging in", e);
                }
                LOG.infof("Hypervisor %s: XAPI session no longer valid; logging in again", id);
            } catch (Types.HostIsSlave e) {
                dropIf(c);
                follow(e.masterIPAddress);
                if (attempt >= 2) {
                    throw e;
                }
            } catch (Exception e) {
                if (XapiErrors.silence(e)) {
                    dropIf(c);
                    master = settings.endpoint(); // the master may have moved: ask the configured endpoint next
                }
                throw e;
            }
        }
    }

    /** The master address currently used (for tests and logs). */
    synchronized URL master() {
        return master;
    }

    private synchronized Connection connection() throws Exception {
        if (connection != null) {
            return connection;
        }
        for (int attempt = 1;; attempt++) {
            Connection c = new Connection(master, seconds(settings.callTimeout()), seconds(settings.callTimeout()));
            try {
                Session.loginWithPassword(c, settings.username(), settings.password(), "1.0", ORIGINATOR);
                connection = c;
                return c;
            } catch (Types.HostIsSlave e) {
                follow(e.masterIPAddress);
                if (attempt >= 3) {
                    throw e;
                }
            } catch (Types.SessionAuthenticationFailed e) {
                throw new HypervisorException("Hypervisor " + id + " refused the login of " + settings.username()
                        + " (SESSION_AUTHENTICATION_FAILED)", false);
            }
        }
    }

    /** Forgets a connection that failed (unless another thread already replaced it). */
    private synchronized void dropIf(Connection c) {
        if (connection == c) {
            connection = null;
        }
    }

    /** Logs in at the master a pool member named next time; scheme and port stay those of the endpoint. */
    private synchronized void follow(String address) throws MalformedURLException {
        if (address == null || address.isBlank()) {
            return;
        }
        URL endpoint = settings.endpoint();
        URL next = new URL(endpoint.getProtocol(), address.trim(), endpoint.getPort(), endpoint.getFile());
        LOG.infof("Hypervisor %s: %s is a pool member; its master is %s", id, master.getHost(), address);
        master = next;
        connection = null;
    }

    synchronized void logout() {
        Connection c = connection;
        connection = null;
        if (c != null) {
            try {
                Session.logout(c);
            } catch (Exception e) {
                LOG.debugf("Hypervisor %s: logout failed: %s", id, e.getMessage());
            }
        }
    }

    private static int seconds(java.time.Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, (d.toMillis() + 999) / 1000));
    }
}
