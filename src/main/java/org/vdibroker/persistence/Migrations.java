package org.vdibroker.persistence;

import io.quarkus.arc.InjectableInstance;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Any;
import jakarta.inject.Inject;
import org.flywaydb.core.Flyway;
import org.jboss.logging.Logger;

/**
 * Applies the Flyway migrations of the active database when the node starts, before anything else reads it. If the
 * database does not answer then, the node starts all the same (it serves definitions from the cluster and keeps
 * writes in the outbox) and migrates as soon as the database answers; this is why Quarkus' own migrate-at-start is
 * off, which would stop a node that starts during a database outage.
 */
@ApplicationScoped
public class Migrations {

    private static final Logger LOG = Logger.getLogger(Migrations.class);

    @Inject
    @Any
    InjectableInstance<Flyway> flyways;

    private volatile boolean done;

    void onStart(@Observes @Priority(1) StartupEvent event) {
        if (!migrate()) {
            LOG.warn("The database does not answer: the node starts without it and migrates when it answers");
        }
    }

    @Scheduled(every = "5s", delayed = "5s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void retry() {
        if (!done && migrate()) {
            LOG.info("The database answers: migrations applied");
        }
    }

    /** Whether the schema is up to date. */
    public boolean done() {
        return done;
    }

    /** Synchronized: the start and a retry of the scheduler must not migrate at the same time. */
    private synchronized boolean migrate() {
        if (done) {
            return true;
        }
        try {
            flyways.getActive().migrate();
            done = true;
        } catch (RuntimeException e) {
            if (!connectionFailure(e)) {
                throw e; // a broken migration is a bug to see at once, not an outage to wait out
            }
        }
        return done;
    }

    private static boolean connectionFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.sql.SQLTransientConnectionException || t instanceof java.net.ConnectException
                    || (t instanceof java.sql.SQLException sql && sql.getSQLState() != null
                            && sql.getSQLState().startsWith("08"))) {
                return true;
            }
        }
        return false;
    }
}
