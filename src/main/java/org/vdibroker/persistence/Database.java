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
}
