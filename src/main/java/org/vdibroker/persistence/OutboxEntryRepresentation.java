package org.vdibroker.persistence;

import java.time.Instant;

/**
 * One outbox entry as an admin sees it: its id (the outbox key), its kind (the entry's type), and, if the database
 * refused it, how often in a row, the last error and whether it is parked. The entry's content is not shown.
 */
public record OutboxEntryRepresentation(String id, String kind, int attempts, String lastError,
        Instant lastAttemptAt, boolean parked) {
}
