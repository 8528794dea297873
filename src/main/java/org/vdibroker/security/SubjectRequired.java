package org.vdibroker.security;

import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.AuthenticationRequestContext;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.identity.SecurityIdentityAugmentor;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.jwt.JsonWebToken;

/**
 * Refuses (401) every token without a {@code sub}: what a user holds is keyed by it (see {@link Caller}), so a token
 * without one must not get as far as an endpoint that might fall back to the name.
 */
@ApplicationScoped
public class SubjectRequired implements SecurityIdentityAugmentor {

    @Override
    public Uni<SecurityIdentity> augment(SecurityIdentity identity, AuthenticationRequestContext context) {
        if (!identity.isAnonymous() && identity.getPrincipal() instanceof JsonWebToken jwt
                && (jwt.getSubject() == null || jwt.getSubject().isBlank())) {
            return Uni.createFrom().failure(new AuthenticationFailedException("the token has no subject"));
        }
        return Uni.createFrom().item(identity);
    }
}
