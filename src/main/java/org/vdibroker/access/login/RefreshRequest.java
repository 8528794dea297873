package org.vdibroker.access.login;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Body of {@code POST /api/v1/login/refresh}. Its {@link #toString()} never shows the token. */
public record RefreshRequest(@JsonProperty("refresh_token") String refreshToken) {

    @Override
    public String toString() {
        return "RefreshRequest[refresh_token=***]";
    }
}
