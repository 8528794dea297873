package org.vdibroker.web;

import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.net.URI;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.vdibroker.BrokerConfig;

/**
 * Security headers on the portal's pages and their scripts, styles and noVNC modules (everything outside
 * {@code /api} and {@code /q}, which the API's own filter covers). The Content-Security-Policy allows scripts only
 * from this origin (no inline script), network calls to this origin (including its WebSockets, for the console
 * proxy) and to Keycloak (token and sign-out), and no framing.
 */
@ApplicationScoped
public class SecurityHeaders {

    @ConfigProperty(name = "quarkus.oidc.auth-server-url")
    Optional<String> authServerUrl;

    BrokerConfig config;

    SecurityHeaders(BrokerConfig config) {
        this.config = config;
    }

    void install(@Observes Router router) {
        String csp = contentSecurityPolicy();
        router.route().order(-100).handler(ctx -> {
            String path = ctx.normalizedPath();
            if (!path.startsWith("/api/") && !path.startsWith("/q/")) {
                ctx.addHeadersEndHandler(v -> apply(ctx.response(), csp));
            }
            ctx.next();
        });
    }

    static void apply(HttpServerResponse response, String csp) {
        response.putHeader("Content-Security-Policy", csp);
        response.putHeader("X-Content-Type-Options", "nosniff");
        response.putHeader("X-Frame-Options", "DENY");
        response.putHeader("Referrer-Policy", "no-referrer");
        response.putHeader("Cross-Origin-Opener-Policy", "same-origin");
        response.putHeader("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    }

    String contentSecurityPolicy() {
        String idp = identityProviderOrigin();
        return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                + "font-src 'self'; connect-src 'self' " + idp + "; form-action 'self' " + idp
                + "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
    }

    /** Keycloak's origin (scheme, host, port), where the browser exchanges its code and signs out. */
    String identityProviderOrigin() {
        String url = authServerUrl.filter(s -> !s.isBlank()).orElse(config.keycloak().url());
        URI uri = URI.create(url);
        return uri.getScheme() + "://" + uri.getHost() + (uri.getPort() < 0 ? "" : ":" + uri.getPort());
    }
}
