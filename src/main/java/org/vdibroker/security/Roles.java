package org.vdibroker.security;

/** Realm roles the broker checks. */
public final class Roles {

    public static final String USER = "vdi-user";
    public static final String ADMIN = "vdi-admin";
    /** Gateways and console proxies that redeem connection tickets (a client-credentials service account). */
    public static final String GATEWAY = "vdi-gateway";

    private Roles() {
    }
}
