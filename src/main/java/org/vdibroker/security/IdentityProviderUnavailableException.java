package org.vdibroker.security;

/** The identity provider (Keycloak) could not answer a question the broker had to ask it. */
public class IdentityProviderUnavailableException extends RuntimeException {

    public IdentityProviderUnavailableException(String reason) {
        super(reason);
    }
}
