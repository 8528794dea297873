package org.vdibroker.protocol;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.vdibroker.BrokerConfig;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.cluster.LocalKeys;

/**
 * One-time, expiring connection tickets. Issued for a session's desktop; redeemed once by whatever checks it (a
 * console proxy or gateway) with an atomic remove, so a second use fails on every node.
 */
@ApplicationScoped
public class TicketService {

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    BrokerConfig config;

    Clock clock = Clock.systemUTC();

    private final SecureRandom random = new SecureRandom();
    private Cache<String, TicketState> tickets;

    @PostConstruct
    void init() {
        tickets = manager.getCache(CacheNames.TICKETS);
    }

    /**
     * Issues a new ticket for the session of the user with this subject ({@code user} is their name); the returned
     * string is the only copy of it.
     */
    public IssuedTicket issue(String sessionId, String desktopId, String subject, String user, String protocol) {
        return issue(sessionId, desktopId, subject, user, protocol, config.tickets().lifetime());
    }

    /** Issues a ticket valid for {@code lifetime}. */
    public IssuedTicket issue(String sessionId, String desktopId, String subject, String user, String protocol,
            Duration lifetime) {
        // one whose hash this node holds the primary copy of, so its write is one copy to the backup: on n nodes that
        // leaves log2(n) of the ticket's 144 random bits to an attacker, who still faces over 2^140
        Drawn drawn = LocalKeys.fresh(tickets, this::draw, Drawn::key);
        Instant expiresAt = clock.instant().plus(lifetime);
        long lifespan = lifetime.toMillis();
        tickets.put(drawn.key(), new TicketState(sessionId, desktopId, subject, user, protocol, expiresAt), lifespan,
                TimeUnit.MILLISECONDS);
        return new IssuedTicket(drawn.ticket(), expiresAt);
    }

    /** A new random ticket with the key it is stored under, hashed once. */
    private Drawn draw() {
        byte[] raw = new byte[18];
        random.nextBytes(raw);
        String ticket = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        return new Drawn(ticket, hash(ticket));
    }

    private record Drawn(String ticket, String key) {
        @Override
        public String toString() {
            return "Drawn[key=" + key + "]"; // never the ticket itself
        }
    }

    /** Uses a ticket up: its state if it was valid and unused, else empty. */
    public Optional<TicketState> redeem(String ticket) {
        if (ticket == null || ticket.isEmpty() || ticket.length() > 128) {
            return Optional.empty();
        }
        // Read, then remove only that exact value: remove(k, v) is the conditional write Infinispan keeps atomic
        // across nodes and topology changes (plain remove(k) may report a wrong value during a rebalance), so of
        // two concurrent redeems exactly one wins. The value holds a unique expiry instant.
        String key = hash(ticket);
        TicketState state = tickets.get(key);
        if (state == null || !tickets.remove(key, state)) {
            return Optional.empty();
        }
        if (!clock.instant().isBefore(state.expiresAt())) {
            return Optional.empty();
        }
        return Optional.of(state);
    }

    /** A freshly issued ticket. */
    public record IssuedTicket(String ticket, Instant expiresAt) {
        @Override
        public String toString() {
            return "IssuedTicket[expiresAt=" + expiresAt + "]";
        }
    }

    static String hash(String ticket) {
        try {
            return HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(ticket.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
