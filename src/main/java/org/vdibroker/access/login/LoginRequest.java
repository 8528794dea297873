package org.vdibroker.access.login;

/** Body of {@code POST /api/v1/login}. Its {@link #toString()} never shows the password. */
public record LoginRequest(String username, String password) {

    @Override
    public String toString() {
        return "LoginRequest[username=" + username + ", password=***]";
    }
}
