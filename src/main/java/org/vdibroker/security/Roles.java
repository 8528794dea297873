package org.vdibroker.security;

/** Realm roles the broker checks. */
public final class Roles {

    public static final String USER = "vdi-user";
    public static final String ADMIN = "vdi-admin";

    private Roles() {
    }
}
