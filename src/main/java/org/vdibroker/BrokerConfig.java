package org.vdibroker;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Typed configuration of the broker: every key under {@code broker.}. */
@ConfigMapping(prefix = "broker")
public interface BrokerConfig {

    /** Directory for the embedded H2 database and the generated secret key. */
    @WithDefault("./data")
    String dataDir();

    Cluster cluster();

    Secrets secrets();

    Tickets tickets();

    PoolManager poolManager();

    Sessions sessions();

    Demo demo();

    Requests requests();

    Keycloak keycloak();

    /** Each node's cache of access tokens it has already checked in full (see security/VerifiedTokens). */
    TokenCache tokenCache();

    Rdp rdp();

    Login login();

    Entitlements entitlements();

    /** The browser console proxy (noVNC over a WebSocket). */
    Console console();

    /** The agents in the desktops. */
    Agents agents();

    interface Agents {
        /**
         * How long a ready desktop may wait for its agent to check in with the desktop's current secret before it is
         * refreshed again with a new one; unset (the default): not checked, for templates without an agent.
         */
        Optional<Duration> checkInGrace();

        /** Refreshes in a row that bring no check-in before the desktop is FAILED and its pool shows the problem. */
        @WithDefault("2")
        int checkInRefreshes();
    }

    interface Console {
        /** WebSocket console connections one user may have open at once on this node; more are refused (429). */
        @WithDefault("2")
        int maxConnectionsPerUser();

        /** Origins allowed to open the console WebSocket besides the broker's own (e.g. behind a proxy). */
        Optional<java.util.List<String>> allowedOrigins();

        /** How often an open console checks that its session is still live; it closes when the session ends. */
        @WithDefault("2s")
        Duration sessionCheckInterval();
    }

    /** The admin console's charts: what each node samples and keeps in memory (not stored, lost at restart). */
    Charts charts();

    interface Charts {
        /** How often each node samples every pool's ready spares, spare target and queue depth for the charts. */
        @WithDefault("15s")
        Duration sampleInterval();

        /** How far back the charts reach: older samples and time-to-desktop records are dropped. */
        @WithDefault("2h")
        Duration history();
    }

    Outbox outbox();

    /** Database writes that wait in the cluster's outbox (audit events, inventory changes). */
    interface Outbox {
        /**
         * Keep each node's outbox entries on its disk too ({@code <data-dir>/outbox-journal}), so they survive a stop
         * of every node.
         */
        @WithDefault("true")
        boolean durable();

        /**
         * Refusals in a row (the database answers but rejects the entry) after which an entry is parked until an admin
         * discards it.
         */
        @WithDefault("10")
        int parkAfter();
    }

    interface TokenCache {
        /**
         * Verified access tokens each node remembers (the oldest go first when full), about 8.5 KB of heap each
         * (benchmark 4); 0 checks every token in full on every request.
         */
        @WithDefault("10000")
        int size();

        /**
         * Longest a node trusts a token it checked without checking it again, however far its {@code exp} is (a
         * withdrawn realm key stops working within this).
         */
        @WithDefault("2m")
        Duration maxAge();
    }

    interface Keycloak {
        /** Base URL of the Keycloak server (the realm URL is {@code quarkus.oidc.auth-server-url}). */
        @WithDefault("http://127.0.0.1:8180")
        String url();

        /** The realm users sign in to; its groups are the pools' entitlements. */
        @WithDefault("vdi")
        String realm();
    }

    /** How pool entitlements are checked against the identity provider's groups. */
    interface Entitlements {
        /**
         * Check group entitlements in Keycloak (needs the broker's client secret): a pool naming an unknown group is
         * refused, and groups renamed or removed later are reported in the pool's status.
         */
        @WithDefault("true")
        boolean verifyGroups();

        /** How often each pool's groups are checked again. */
        @WithDefault("5m")
        java.time.Duration checkInterval();
    }

    interface Rdp {
        /** RD Gateway host written into .rdp files; the connection ticket becomes its access token. */
        Optional<String> gatewayHost();

        Signing signing();

        interface Signing {
            /**
             * PKCS#12 keystore holding the RSA key and certificate (extended key usage serverAuth or codeSigning)
             * that .rdp files are signed with; without it files are served unsigned.
             */
            Optional<java.nio.file.Path> keystore();

            /** Password of the keystore and its key. */
            Optional<String> keystorePassword();

            /** Alias of the key in the keystore; the first key entry when not set. */
            Optional<String> alias();
        }
    }

    interface Login {
        /** Public client thin clients sign in with (device code, password). */
        @WithDefault("vdi-client")
        String clientId();

        /** Public client of the browser portal (code flow with PKCE). */
        @WithDefault("vdi-portal")
        String portalClientId();

        /** Token endpoint for POST /api/v1/login; default: the realm's ({@code quarkus.oidc.auth-server-url}). */
        Optional<String> tokenEndpoint();

        /** How long the broker waits for Keycloak's token endpoint (connect and answer) before answering 503. */
        @WithDefault("5s")
        Duration timeout();

        RateLimit rateLimit();

        /**
         * Password sign-ins and refreshes through the broker, limited in a sliding window counted by all nodes of
         * the cluster together (per node while a node cannot reach the others).
         */
        interface RateLimit {
            /** Attempts per user name (case-insensitive) within the window. */
            @WithDefault("10")
            int perUser();

            /** Attempts per client address within the window. */
            @WithDefault("30")
            int perAddress();

            /** Token refreshes per client address within the window. */
            @WithDefault("120")
            int refreshesPerAddress();

            /** The sliding window the limits above count in. */
            @WithDefault("1m")
            Duration window();
        }
    }

    interface Cluster {
        /** Infinispan XML on the class path or file system: infinispan-local.xml or infinispan-cluster.xml. */
        @WithDefault("infinispan-local.xml")
        String config();

        /**
         * Base64 AES key (16, 24 or 32 bytes: {@code openssl rand -base64 32}) that encrypts and authenticates the
         * cluster's JGroups traffic (SYM_ENCRYPT); every node needs the same key, so it comes from a Secret. A node
         * with another key, or none, cannot join. Required with a clustered configuration unless
         * {@code broker.cluster.unencrypted} is set.
         */
        Optional<String> key();

        /**
         * Lets a clustered node start without {@code broker.cluster.key}, its cluster traffic in clear text: only for
         * networks where nothing but broker nodes can reach the cluster ports.
         */
        @WithDefault("false")
        boolean unencrypted();
    }

    interface Secrets {
        /**
         * Base64 AES-256 key that encrypts hypervisor credentials at rest. Required in production; when absent, a
         * key is generated once into {@code <data-dir>/secret.key} (fine for one embedded node only).
         */
        Optional<String> key();

        /**
         * Earlier values of {@code broker.secrets.key} (comma-separated), during a key rotation: they only decrypt.
         * Each node re-seals the stored credentials under the current key when it starts; once every node runs with
         * the new key, drop the old ones from this list.
         */
        Optional<List<String>> previousKeys();
    }

    interface Tickets {
        /** How long a connection ticket may be used after it is issued. */
        @WithDefault("60s")
        Duration lifetime();
    }

    interface PoolManager {
        /** How often each node runs the pool manager for the pools whose key it owns. */
        @WithDefault("1s")
        Duration interval();

        /**
         * Every this many ticks the pool manager reads all of a pool's desktops (staggered over pools) and corrects
         * its node-local indexes from them, the safety net for a missed cache event; ticks otherwise look only at
         * what the indexes say needs work. 1 reads every pool in full every tick.
         */
        @WithDefault("30")
        int sweepEvery();

        /** At most this many desktops are started per pool and tick, so one bad template cannot spin the loop. */
        @WithDefault("50")
        int batchSize();

        /**
         * New desktops are created this many at a time per node, on threads of their own that the pool manager's
         * tick does not wait for (each creation mostly waits: on its hypervisor's clone call and on cluster writes);
         * the hypervisors' concurrency limits still bound the operations under way on each.
         */
        @WithDefault("32")
        int createParallelism();

        /** A desktop that fails this many operations in a row is retired. */
        @WithDefault("3")
        int maxFailures();

        /**
         * While a new publication rolls out, at most this many ready desktops of a pool are being replaced at once
         * (retired, or their replacement still being made), so the pool keeps serving from the others.
         */
        @WithDefault("5")
        int rolloutBatch();

        /**
         * A desktop claimed for a session that never learned of it (its node died) is freed after this long (a node
         * paused longer than this loses its claim rather than taking the desktop), and a new session whose request
         * died before it joined the queue joins it after this long (or is ended, if its node died before it was even
         * published as the user's session).
         */
        @WithDefault("30s")
        Duration orphanGrace();

        /** A hypervisor that has not answered any call for this long is lost: its desktops go LOST and are replaced. */
        @WithDefault("60s")
        Duration hostLostAfter();

        /** How often each node asks every hypervisor that has been quiet for a sign of life (a usage call). */
        @WithDefault("5s")
        Duration healthInterval();

        /** A hypervisor call that has not answered after this long fails (and counts against its circuit breaker). */
        @WithDefault("10s")
        Duration callTimeout();

        /** A hypervisor's circuit breaker opens when half of its last this-many calls failed to get an answer. */
        @WithDefault("10")
        int breakerRequests();

        /** How long an open circuit breaker refuses calls before it lets a trial call through. */
        @WithDefault("30s")
        Duration breakerDelay();

        /** How often the pool's owner compares each hypervisor's VMs with the broker's view and repairs drift. */
        @WithDefault("30s")
        Duration reconcileInterval();

        /**
         * A pool whose provisions on a template keep failing waits {@code initial} after the first failure, twice as
         * long after each further one, up to {@code max}, and tries one desktop at a time until one succeeds.
         */
        Backoff provisionBackoff();

        interface Backoff {
            /** The wait after the first failed provision of a template. */
            @WithDefault("5s")
            Duration initial();

            /** The longest wait between trial provisions of a template that keeps failing. */
            @WithDefault("5m")
            Duration max();
        }
    }

    interface Sessions {
        /** A queued request that nobody polls for this long is abandoned and leaves the queue. */
        @WithDefault("10m")
        Duration queueAbandonAfter();

        /** Ended sessions are kept this long so clients polling them see ENDED rather than 404. */
        @WithDefault("10m")
        Duration endedRetention();
    }

    interface Demo {
        /**
         * Creates the simulator hypervisor {@code simulator-1} and the pool {@code demo} when the database is empty.
         */
        @WithDefault("false")
        boolean enabled();
    }

    interface Requests {
        /** Largest request body accepted, in bytes; larger ones get 413. */
        @WithDefault("65536")
        long maxBodyBytes();

        /** Idempotency-Key values remembered per user (the oldest is forgotten first), so no user can grow memory. */
        @WithDefault("20")
        int idempotencyKeysPerUser();

        PerUser perUser();

        /** Limits per user, counted by all nodes together: one user's flood cannot starve the others. */
        interface PerUser {
            /** Desktop requests per user within the window (clients poll while queued); more get 429. */
            @WithDefault("120")
            int desktopRequests();

            /** Connection tickets (connection, .rdp, .vv) per user within the window; more get 429. */
            @WithDefault("60")
            int tickets();

            /** Session event streams one user may hold open at once; more get 429. */
            @WithDefault("5")
            int eventStreams();

            /** The sliding window the per-user request and ticket limits count in. */
            @WithDefault("1m")
            Duration window();
        }
    }
}
