package org.vdibroker.security;

import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.identity.SecurityIdentity;
import jakarta.enterprise.context.RequestScoped;
import jakarta.inject.Inject;
import java.util.Set;
import org.eclipse.microprofile.jwt.JsonWebToken;

/**
 * Who is calling, from the validated token: the subject ({@code sub}, the identity provider's id for the user, never
 * reassigned), the user name for display ({@code preferred_username}) and the Keycloak group paths of the
 * {@code groups} claim, which pool entitlements name. What a user holds (sessions, tickets, a dedicated desktop,
 * idempotency keys, limits) is keyed by the subject: a user deleted and re-created with the same name, or a second
 * identity provider mapping the same name, is someone else.
 */
@RequestScoped
public class Caller {

    @Inject
    SecurityIdentity identity;

    private String subject;
    private String user;
    private Set<String> groups;

    /**
     * The token's {@code sub}. Tokens without one are refused before any endpoint runs ({@link SubjectRequired});
     * this refuses them again (401) wherever a caller is keyed.
     */
    public String subject() {
        if (subject == null) {
            String sub = identity.getPrincipal() instanceof JsonWebToken jwt ? jwt.getSubject() : null;
            if (sub == null || sub.isBlank()) {
                throw new AuthenticationFailedException("the token has no subject");
            }
            subject = sub;
        }
        return subject;
    }

    /** The user name to show (and to put into connection files); never what ownership is decided on. */
    public String user() {
        if (user == null) {
            user = identity.getPrincipal().getName();
            if (identity.getPrincipal() instanceof JsonWebToken jwt) {
                String preferred = jwt.getClaim("preferred_username");
                if (preferred != null) {
                    user = preferred;
                }
            }
        }
        return user;
    }

    public Set<String> groups() {
        if (groups == null) {
            groups = identity.getPrincipal() instanceof JsonWebToken jwt && jwt.getGroups() != null
                    ? Set.copyOf(jwt.getGroups()) : Set.of();
        }
        return groups;
    }

    public boolean admin() {
        return identity.hasRole(Roles.ADMIN);
    }
}
