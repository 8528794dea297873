package org.vdibroker.persistence;

import java.io.Serializable;
import java.util.List;
import org.hibernate.Session;

/**
 * Writes one kind of outbox entry to the database; implemented by the package that owns the table (audit events,
 * desktop inventory), found by the outbox as a bean.
 */
public interface OutboxWriter<T extends Serializable> {

    /** The class of the entries this writer takes. */
    Class<T> type();

    /**
     * Writes {@code entries} in the caller's transaction. Must be idempotent and must not depend on the order in
     * which entries arrive: an entry may be written twice (a retry after the commit but before its removal from the
     * outbox, or two nodes while the cluster changes shape).
     */
    void write(Session session, List<T> entries);
}
