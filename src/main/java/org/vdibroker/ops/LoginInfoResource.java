package org.vdibroker.ops;

import jakarta.annotation.security.PermitAll;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.List;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Tells clients where and how to sign in (no authentication). */
@Path("/api/v1/login")
@PermitAll
public class LoginInfoResource {

    @ConfigProperty(name = "quarkus.oidc.auth-server-url")
    java.util.Optional<String> authServerUrl;

    @jakarta.inject.Inject
    org.vdibroker.BrokerConfig config;

    /** Sign-in facts for thin clients and the browser portal. */
    public record LoginInfo(String issuer, String clientId, String portalClientId, List<String> grants,
            String deviceAuthorizationEndpoint, String tokenEndpoint) {
    }

    @GET
    @Produces(MediaType.APPLICATION_JSON)
    public LoginInfo info() {
        String issuer = authServerUrl.orElse(config.keycloak().url() + "/realms/" + config.keycloak().realm());
        return new LoginInfo(issuer, config.login().clientId(), config.login().portalClientId(),
                List.of("urn:ietf:params:oauth:grant-type:device_code", "password", "authorization_code"),
                issuer + "/protocol/openid-connect/auth/device", issuer + "/protocol/openid-connect/token");
    }
}
