package org.vdibroker.security;

import io.quarkus.oidc.AccessTokenCredential;
import io.quarkus.security.identity.AuthenticationRequestContext;
import io.quarkus.security.identity.IdentityProvider;
import io.quarkus.security.identity.SecurityIdentity;
import io.quarkus.security.identity.request.TokenAuthenticationRequest;
import io.quarkus.vertx.http.runtime.security.HttpSecurityUtils;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * Answers a bearer token this node has already checked in full from {@link VerifiedTokens}, before Quarkus OIDC's own
 * identity provider (higher priority; Quarkus tries a request type's providers in priority order and goes on to the
 * next one when a provider answers no identity). On a miss it answers none, so OIDC checks the token exactly as
 * without this class. The augmentors (e.g. {@link SubjectRequired}) still run on every request, hit or miss.
 * <p>
 * Why here: an identity provider is public Quarkus Security API and sees only the token, whereas a decorated
 * authentication mechanism or a custom token validator would depend on quarkus-oidc's internals or still parse and
 * verify the token first.
 */
@ApplicationScoped
public class VerifiedTokenProvider implements IdentityProvider<TokenAuthenticationRequest> {

    @Inject
    VerifiedTokens tokens;

    @Override
    public Class<TokenAuthenticationRequest> getRequestType() {
        return TokenAuthenticationRequest.class;
    }

    @Override
    public Uni<SecurityIdentity> authenticate(TokenAuthenticationRequest request,
            AuthenticationRequestContext context) {
        if (!(request.getToken() instanceof AccessTokenCredential credential)) {
            return Uni.createFrom().nullItem(); // ID tokens of a code flow: not this cache's business
        }
        return Uni.createFrom().item(tokens.lookup(credential.getToken(),
                HttpSecurityUtils.getRoutingContextAttribute(request)));
    }

    /** Before quarkus-oidc's provider, which keeps the interface's default priority (1001). */
    @Override
    public int priority() {
        return 2000;
    }
}
