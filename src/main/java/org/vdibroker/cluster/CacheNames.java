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
    public static final String OUTBOX = "outbox";
    /** pool id -> why it cannot provision now (pool/ProvisionProblems) */
    public static final String POOL_PROVISIONING = "pool-provisioning";

    private CacheNames() {
    }
}
