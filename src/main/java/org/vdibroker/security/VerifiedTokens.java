package org.vdibroker.security;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.oidc.AccessTokenCredential;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.runtime.QuarkusSecurityIdentity;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.eclipse.microprofile.jwt.JsonWebToken;
import org.vdibroker.BrokerConfig;

/**
 * This node's memory of access tokens that passed the whole check (signature, issuer, audience, expiry, subject):
 * Quarkus OIDC verifies the signature and parses the claims of the bearer token on every request, which was about a
 * sixth of a node's CPU under load, while a client sends the same token many times in its few minutes of life.
 * <p>
 * Rules: the key is the whole token string, so only the exact token that was checked matches; an identity goes in
 * only after the OIDC check and every augmentor passed ({@link VerifiedTokenRecorder} runs last), so a refused token
 * is never held; an entry ends at the token's {@code exp} and never later, and after
 * {@code broker.token-cache.max-age} at most (how long a realm key withdrawn from Keycloak keeps working beyond what
 * the broker's copy of the key set allows anyway); the cache is bounded by {@code broker.token-cache.size} (0 turns it
 * off) and is per node (nothing is shared, a token is checked once per node). Hits and misses are counted.
 * <p>
 * When full, the oldest entry goes first. Every entry lives two minutes at most, so the oldest is the nearest to its
 * end, and a client uses its token within seconds of getting it. A frequency-based cache (Caffeine, before) refused
 * newcomers once full: the entry a newcomer would replace had been used as often as it (once or twice), so in a logon
 * storm the newest tokens, the ones about to be used again, were the ones not kept.
 */
@Singleton
public class VerifiedTokens {

    /** Quarkus OIDC puts the request's routing context into the identity: a held identity must not keep it. */
    static final String ROUTING_CONTEXT = RoutingContext.class.getName();
    /** Marks an identity handed out from this cache, so it is never put back with a fresh maximum age. */
    static final String FROM_CACHE = VerifiedTokens.class.getName() + ".hit";

    private record Verified(String token, SecurityIdentity identity, long expiresAtMillis) {
        /** Never the token: it is a credential. */
        @Override
        public String toString() {
            return "Verified[expiresAtMillis=" + expiresAtMillis + "]";
        }
    }

    /** Null when the cache is off. */
    private final ConcurrentHashMap<String, Verified> cache;
    /** The entries in the order they came in: the head goes first when the cache is full or its life is over. */
    private final Queue<Verified> arrivals = new ConcurrentLinkedQueue<>();
    private final int size;
    private final long maxAgeMillis;
    private final LongSupplier clock;
    private final Counter hits;
    private final Counter misses;

    @Inject
    VerifiedTokens(BrokerConfig config, MeterRegistry meters) {
        this(config.tokenCache().size(), config.tokenCache().maxAge(), meters, System::currentTimeMillis);
    }

    VerifiedTokens(int size, Duration maxAge, MeterRegistry meters, LongSupplier clock) {
        this.maxAgeMillis = maxAge.toMillis();
        this.clock = clock;
        this.size = size;
        this.cache = size <= 0 || maxAgeMillis <= 0 ? null : new ConcurrentHashMap<>();
        this.hits = Counter.builder("vdi.token.cache.hits")
                .description("requests whose access token this node had already checked").register(meters);
        this.misses = Counter.builder("vdi.token.cache.misses")
                .description("requests whose access token was checked in full (the cache is on)").register(meters);
        Gauge.builder("vdi.token.cache.size", this, VerifiedTokens::size)
                .description("verified access tokens this node holds").register(meters);
    }

    /** The identity checked earlier for exactly this token while it is still within its life; null otherwise. */
    SecurityIdentity lookup(String token, RoutingContext request) {
        if (cache == null || token == null) {
            return null;
        }
        Verified verified = cache.get(token);
        if (verified == null || clock.getAsLong() >= verified.expiresAtMillis()) {
            if (verified != null) {
                cache.remove(token, verified);
            }
            misses.increment();
            return null;
        }
        hits.increment();
        return copy(verified.identity(), request, true);
    }

    /**
     * Holds the identity of a token that has just passed the whole check. Identities without a JWT principal whose
     * raw token is the bearer credential, already expired ones, or ones handed out from this cache are not held.
     */
    void remember(SecurityIdentity identity) {
        if (cache == null || identity.isAnonymous() || identity.getAttribute(FROM_CACHE) != null
                || !(identity instanceof QuarkusSecurityIdentity)
                || !(identity.getPrincipal() instanceof JsonWebToken jwt)) {
            return;
        }
        AccessTokenCredential credential = identity.getCredential(AccessTokenCredential.class);
        String token = credential == null ? null : credential.getToken();
        if (token == null || !token.equals(jwt.getRawToken()) || jwt.getExpirationTime() <= 0) {
            return;
        }
        long now = clock.getAsLong();
        long expiresAt = Math.min(TimeUnit.SECONDS.toMillis(jwt.getExpirationTime()), now + maxAgeMillis);
        if (expiresAt > now) {
            Verified verified = new Verified(token, copy(identity, null, false), expiresAt);
            if (cache.putIfAbsent(token, verified) == null) {
                arrivals.add(verified);
            }
            evict(now);
        }
    }

    /**
     * Drops entries from the head while the cache is over its bound or the head's life is over. Entries that ended
     * earlier than older ones (a token with a shorter life) wait behind them; each leaves by the head at the latest.
     */
    private void evict(long now) {
        Verified oldest;
        while ((oldest = arrivals.peek()) != null
                && (cache.size() > size || now >= oldest.expiresAtMillis() || cache.get(oldest.token()) != oldest)) {
            if (arrivals.remove(oldest)) {
                cache.remove(oldest.token(), oldest);
            }
        }
    }

    /** Whether this node holds the token now (tests). */
    boolean holds(String token) {
        return cache != null && cache.get(token) != null;
    }

    long size() {
        return cache == null ? 0 : cache.size();
    }

    /** The identity's principal, roles, credentials and attributes, with this request's routing context. */
    private static SecurityIdentity copy(SecurityIdentity identity, RoutingContext request, boolean fromCache) {
        QuarkusSecurityIdentity.Builder builder = QuarkusSecurityIdentity.builder()
                .setPrincipal(identity.getPrincipal()).addRoles(identity.getRoles())
                .addCredentials(identity.getCredentials()).addPermissions(identity.getPermissions());
        identity.getAttributes().forEach((name, value) -> {
            if (!ROUTING_CONTEXT.equals(name) && !FROM_CACHE.equals(name)) {
                builder.addAttribute(name, value);
            }
        });
        if (request != null) {
            builder.addAttribute(ROUTING_CONTEXT, request);
        }
        if (fromCache) {
            builder.addAttribute(FROM_CACHE, Boolean.TRUE);
        }
        return builder.build();
    }
}
