package org.vdibroker.security;

import io.quarkus.security.identity.AuthenticationRequestContext;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.identity.SecurityIdentityAugmentor;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * Puts an identity into {@link VerifiedTokens} once its token passed the whole check: it runs after every other
 * augmentor (lowest priority), so a token that OIDC or any augmentor refused (no {@code sub}, ...) never gets here.
 */
@ApplicationScoped
public class VerifiedTokenRecorder implements SecurityIdentityAugmentor {

    @Inject
    VerifiedTokens tokens;

    @Override
    public Uni<SecurityIdentity> augment(SecurityIdentity identity, AuthenticationRequestContext context) {
        tokens.remember(identity);
        return Uni.createFrom().item(identity);
    }

    @Override
    public int priority() {
        return Integer.MIN_VALUE;
    }
}
