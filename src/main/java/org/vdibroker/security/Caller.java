package org.vdibroker.security;

import io.quarkus.security.identity.SecurityIdentity;
import jakarta.enterprise.context.RequestScoped;
import jakarta.inject.Inject;
import java.util.Set;
import org.eclipse.microprofile.jwt.JsonWebToken;

/**
 * Who is calling, from the validated token: the user name ({@code preferred_username}) and the Keycloak group paths
 * of the {@code groups} claim, which pool entitlements name.
 */
@RequestScoped
public class Caller {

    @Inject
    SecurityIdentity identity;

    private String user;
    private Set<String> groups;

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
