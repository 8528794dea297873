package org.vdibroker.persistence;

import io.quarkus.arc.InjectableInstance;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Any;
import jakarta.inject.Inject;
import org.hibernate.Session;

/**
 * The active persistence unit. Both H2 (the embedded default) and PostgreSQL are built into the jar; configuration
 * activates one of them at run time (see application.properties), so one artifact serves the demo and production.
 */
@ApplicationScoped
public class Database {

    @Inject
    @Any
    InjectableInstance<Session> sessions;

    private volatile Session session;

    /** A transaction-scoped session of the active unit; call inside a transaction. */
    public Session session() {
        Session s = session;
        if (s == null) {
            s = sessions.getActive();
            session = s;
        }
        return s;
    }

    /**
     * Whether the calling thread is inside a JTA transaction (false outside a running Quarkus application). Calls
     * that wait for a hypervisor assert they are not: the transaction would be carried onto the threads of the
     * hypervisor's breaker and timeout, and its commit could race them.
     */
    public static boolean inTransaction() {
        io.quarkus.arc.ArcContainer container = io.quarkus.arc.Arc.container();
        if (container == null || !container.isRunning()) {
            return false;
        }
        try {
            return container.instance(jakarta.transaction.TransactionManager.class).get()
                    .getStatus() != jakarta.transaction.Status.STATUS_NO_TRANSACTION;
        } catch (jakarta.transaction.SystemException e) {
            return false;
        }
    }
}
