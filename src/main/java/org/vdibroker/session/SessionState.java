package org.vdibroker.session;

import java.io.Serializable;
import java.time.Instant;
import org.infinispan.protostream.annotations.ProtoFactory;
import org.infinispan.protostream.annotations.ProtoField;
import org.vdibroker.cluster.WireInstant;

/**
 * A session, the value of its entry in the {@code sessions} cache. Immutable and versioned like DesktopState;
 * {@code queueTicket} orders waiting sessions of a pool (first come, first served); 0 while a new session has not
 * joined the queue (it takes a desktop at once, or a ticket when it has to wait). {@code idleSince} is when the
 * desktop's agent last said the user became idle (null: active, or the agent does not report idleness).
 * {@code subject} (the token's {@code sub}) is whose session it is; {@code user} is only the name shown. A session
 * written by a broker older than the subject has none and belongs to nobody who asks.
 */
public record SessionState(@ProtoField(number = 1) String id, @ProtoField(number = 2) String poolId,
        @ProtoField(number = 3) String subject, @ProtoField(number = 4) String user,
        @ProtoField(number = 5) SessionStatus status, @ProtoField(number = 6) String desktopId,
        @ProtoField(number = 7) String protocol, @ProtoField(number = 8) long queueTicket, Instant createdAt,
        Instant changedAt, Instant lastSeenAt, @ProtoField(number = 12) String endReason, Instant idleSince,
        @ProtoField(number = 14) long version) implements Serializable {

    /** Read from ProtoStream: the instants travel as {@link WireInstant}s (fields 9-11 and 13). */
    @ProtoFactory
    static SessionState proto(String id, String poolId, String subject, String user, SessionStatus status,
            String desktopId, String protocol, long queueTicket, WireInstant wireCreatedAt, WireInstant wireChangedAt,
            WireInstant wireLastSeenAt, String endReason, WireInstant wireIdleSince, long version) {
        return new SessionState(id, poolId, subject, user, status, desktopId, protocol, queueTicket,
                WireInstant.instant(wireCreatedAt), WireInstant.instant(wireChangedAt),
                WireInstant.instant(wireLastSeenAt), endReason, WireInstant.instant(wireIdleSince), version);
    }

    @ProtoField(number = 9)
    WireInstant wireCreatedAt() {
        return WireInstant.of(createdAt);
    }

    @ProtoField(number = 10)
    WireInstant wireChangedAt() {
        return WireInstant.of(changedAt);
    }

    @ProtoField(number = 11)
    WireInstant wireLastSeenAt() {
        return WireInstant.of(lastSeenAt);
    }

    @ProtoField(number = 13)
    WireInstant wireIdleSince() {
        return WireInstant.of(idleSince);
    }

    /** The end reason of {@link #claimFence}. */
    public static final String CLAIM_EXPIRED = "claim-expired";

    /** Whether the session belongs to the caller with this subject. */
    public boolean ownedBy(String callerSubject) {
        return subject != null && subject.equals(callerSubject);
    }

    /**
     * A session an older broker opened (no subject), bound to the subject of the first caller with its name; see
     * {@link SessionStore#bindToSubject}.
     */
    public SessionState withSubject(String subject) {
        return new SessionState(id, poolId, subject, user, status, desktopId, protocol, queueTicket, createdAt,
                changedAt, lastSeenAt, endReason, idleSince, version + 1);
    }

    /** A change of state is activity: whatever the agent said about idleness before no longer holds. */
    public SessionState withStatus(SessionStatus status, String desktopId, Instant now) {
        return new SessionState(id, poolId, subject, user, status, desktopId, protocol, queueTicket, createdAt, now,
                lastSeenAt, endReason, null, version + 1);
    }

    /** The session joins its pool's queue with {@code ticket}. */
    public SessionState withQueueTicket(long ticket) {
        return new SessionState(id, poolId, subject, user, status, desktopId, protocol, ticket, createdAt,
                changedAt, lastSeenAt, endReason, idleSince, version + 1);
    }

    public SessionState ended(String reason, Instant now) {
        return new SessionState(id, poolId, subject, user, SessionStatus.ENDED, desktopId, protocol, queueTicket,
                createdAt, now, lastSeenAt, reason, idleSince, version + 1);
    }

    public SessionState seen(Instant now) {
        return new SessionState(id, poolId, subject, user, status, desktopId, protocol, queueTicket, createdAt,
                changedAt, now, endReason, idleSince, version + 1);
    }

    /**
     * The same session, one version on: written by {@link SessionStore#fenceClaim} so that a conditional write based
     * on the value before fails.
     */
    public SessionState fenced() {
        return new SessionState(id, poolId, subject, user, status, desktopId, protocol, queueTicket, createdAt,
                changedAt, lastSeenAt, endReason, idleSince, version + 1);
    }

    /**
     * An ENDED placeholder for a session id a desktop was claimed for but under which no session was ever written
     * (see {@link SessionStore#fenceClaim}); it belongs to nobody and is purged like any ended session.
     */
    static SessionState claimFence(String id, String poolId, Instant now) {
        return new SessionState(id, poolId, null, null, SessionStatus.ENDED, null, null, 0, now, now, now,
                CLAIM_EXPIRED, null, 1);
    }

    /** The agent's latest word on idleness; {@code changedAt} stays, it tells since when the state holds. */
    public SessionState idle(Instant since) {
        return new SessionState(id, poolId, subject, user, status, desktopId, protocol, queueTicket, createdAt,
                changedAt, lastSeenAt, endReason, since, version + 1);
    }
}
