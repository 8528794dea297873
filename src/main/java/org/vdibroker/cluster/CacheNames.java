package org.vdibroker.cluster;

/** Names of the caches defined in infinispan-*.xml. Each is used by the one package that owns it. */
public final class CacheNames {

    public static final String DESKTOPS = "desktops";
    public static final String SESSIONS = "sessions";
    public static final String USER_SESSIONS = "user-sessions";
    public static final String DESKTOP_OWNERS = "desktop-owners";
    public static final String TICKETS = "tickets";
    public static final String IDEMPOTENCY = "idempotency";
    public static final String SIMULATOR_VMS = "simulator-vms";
    public static final String COUNTERS = "counters";
    public static final String LOGIN_COUNTS = "login-counts";
    /**
     * name|slot|key -> sign-in attempts, desktop requests and tickets counted by every node
     * (access/login/ClusterWindowLimiter, from LoginService and access/UserLimits)
     */
    public static final String LOGIN_LIMITS = "login-limits";
    /** stream|user -> the user's open event streams, each with the end of its lease (access/UserLimits) */
    public static final String EVENT_STREAM_SLOTS = "event-stream-slots";
    /** desktop id -> when its agent last checked in, with which secret; id|silent -> refreshes without one (agent/) */
    public static final String AGENT_CHECK_INS = "agent-check-ins";
    public static final String OUTBOX = "outbox";
    /** pool id -> why it cannot provision now (pool/ProvisionProblems) */
    /**
     * Replicated, so reading it (readiness details, pool status) never waits on a peer; it was the distributed cache
     * "pool-provisioning", renamed because a cache cannot change its mode while old and new nodes share it.
     */
    public static final String POOL_PROVISIONING = "pool-problems";
    /** This node's durable copy of the outbox entries it holds; defined in CacheManagerProducer (its path). */
    /** Entries the database refused: attempts in a row, last error, parked or not. */
    public static final String OUTBOX_FAILURES = "outbox-failures";
    public static final String OUTBOX_JOURNAL = "outbox-journal";
    public static final String HYPERVISOR_DEFINITIONS = "hypervisor-definitions";
    public static final String POOL_DEFINITIONS = "pool-definitions";

    private CacheNames() {
    }
}
