package org.vdibroker.security;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.ProcessingException;
import jakarta.ws.rs.WebApplicationException;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.keycloak.OAuth2Constants;
import org.keycloak.admin.client.Keycloak;
import org.keycloak.admin.client.KeycloakBuilder;
import org.keycloak.representations.idm.GroupRepresentation;
import org.vdibroker.BrokerConfig;

/**
 * Keycloak's groups as pool entitlements need them: looked up by path and by id through Keycloak's admin REST API,
 * signed in as the broker's own service account ({@code quarkus.oidc.client-id} with its client secret and the
 * realm-management roles {@code query-groups} and {@code view-users}). Used when an admin saves a pool and by the
 * periodic entitlement check, never on a user's request.
 *
 * <p>Off when no client secret is configured (or {@code broker.entitlements.verify-groups=false}); pools then show
 * their groups as unverified.
 */
@ApplicationScoped
public class GroupDirectory {

    private static final Logger LOG = Logger.getLogger(GroupDirectory.class);

    /** A group as Keycloak knows it: its stable id and its current path. */
    public record Group(String id, String path) {
    }

    @Inject
    BrokerConfig config;

    @ConfigProperty(name = "quarkus.oidc.client-id", defaultValue = "vdi-broker")
    String clientId;

    @ConfigProperty(name = "quarkus.oidc.credentials.secret")
    Optional<String> clientSecret;

    private volatile Keycloak keycloak;

    public boolean enabled() {
        return config.entitlements().verifyGroups() && clientSecret.filter(s -> !s.isBlank()).isPresent();
    }

    /** Why groups cannot be checked, for a pool's status; empty when they can. */
    public Optional<String> disabledReason() {
        if (!config.entitlements().verifyGroups()) {
            return Optional.of("group checks are switched off (broker.entitlements.verify-groups=false)");
        }
        if (clientSecret.filter(s -> !s.isBlank()).isEmpty()) {
            return Optional.of("group checks need the broker's client secret (quarkus.oidc.credentials.secret)");
        }
        return Optional.empty();
    }

    /** The group at {@code path} (e.g. {@code /engineering/qa}), or empty when Keycloak has none. */
    public Optional<Group> byPath(String path) {
        String relative = path.startsWith("/") ? path.substring(1) : path;
        try {
            return Optional.ofNullable(admin().realm(config.keycloak().realm()).getGroupByPath(relative))
                    .map(GroupDirectory::group);
        } catch (ProcessingException | WebApplicationException e) {
            if (notFound(e)) {
                return Optional.empty();
            }
            throw unavailable(e);
        }
    }

    /** The group with this id (its path may have changed since), or empty when it was removed. */
    public Optional<Group> byId(String id) {
        try {
            return Optional.of(group(admin().realm(config.keycloak().realm()).groups().group(id).toRepresentation()));
        } catch (ProcessingException | WebApplicationException e) {
            if (notFound(e)) {
                return Optional.empty();
            }
            throw unavailable(e);
        }
    }

    /** The REST client reports 404 as NotFoundException or as a plain WebApplicationException carrying it. */
    private static boolean notFound(RuntimeException e) {
        return e instanceof NotFoundException
                || e instanceof WebApplicationException w && w.getResponse() != null
                        && w.getResponse().getStatus() == 404;
    }

    private static Group group(GroupRepresentation g) {
        return new Group(g.getId(), g.getPath());
    }

    private Keycloak admin() {
        Keycloak k = keycloak;
        if (k == null) {
            synchronized (this) {
                if (keycloak == null) {
                    keycloak = KeycloakBuilder.builder().serverUrl(config.keycloak().url())
                            .realm(config.keycloak().realm()).grantType(OAuth2Constants.CLIENT_CREDENTIALS)
                            .clientId(clientId).clientSecret(clientSecret.orElseThrow()).build();
                }
                k = keycloak;
            }
        }
        return k;
    }

    /** Unreachable, or the service account is refused: either way the groups cannot be checked now. */
    private IdentityProviderUnavailableException unavailable(RuntimeException e) {
        String why = e instanceof WebApplicationException w
                ? "HTTP " + w.getResponse().getStatus() + (w.getResponse().getStatus() == 401
                        || w.getResponse().getStatus() == 403
                                ? " (check the client secret and the service account's realm-management roles)"
                                : "")
                : String.valueOf(e.getCause() != null ? e.getCause() : e);
        LOG.warnf("Keycloak's admin API did not answer a group lookup: %s", why);
        return new IdentityProviderUnavailableException(why);
    }

    @PreDestroy
    void close() {
        Keycloak k = keycloak;
        if (k != null) {
            k.close();
        }
    }
}
