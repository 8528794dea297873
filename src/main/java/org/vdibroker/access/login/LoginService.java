package org.vdibroker.access.login;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.infinispan.AdvancedCache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.jboss.logging.Logger;
import org.vdibroker.BrokerConfig;
import org.vdibroker.api.Problem;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.security.LogSafe;

/**
 * Sign-in on behalf of thin clients that only know a user name and password: the broker performs the password grant
 * (and later the refresh grant) of the public client {@code broker.login.client-id} at Keycloak's token endpoint,
 * without blocking a thread (JDK HTTP client, asynchronous), and hands back Keycloak's tokens.
 *
 * <p>Attempts are limited per user name and per client address, counted by all nodes together. An unknown user and a
 * wrong password get the same answer. Passwords and tokens are never logged.
 */
@ApplicationScoped
public class LoginService {

    private static final Logger LOG = Logger.getLogger(LoginService.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** What a client gets of Keycloak's token response. */
    private static final List<String> TOKEN_FIELDS = List.of("access_token", "expires_in", "refresh_token",
            "refresh_expires_in", "token_type", "id_token", "scope", "not-before-policy", "session_state");
    static final int MAX_USERNAME = 255;
    static final int MAX_PASSWORD = 1024;
    static final int MAX_REFRESH_TOKEN = 16384;

    @Inject
    BrokerConfig config;

    @ConfigProperty(name = "quarkus.oidc.auth-server-url")
    Optional<String> authServerUrl;

    private HttpClient http;
    private URI tokenEndpoint;
    @Inject
    EmbeddedCacheManager caches;

    // counted by every node together: a client spread over N nodes gets each limit once, not N times
    private ClusterWindowLimiter perUser;
    private ClusterWindowLimiter perAddress;
    private ClusterWindowLimiter refreshesPerAddress;

    @PostConstruct
    void init() {
        BrokerConfig.Login login = config.login();
        http = HttpClient.newBuilder().connectTimeout(login.timeout()).followRedirects(HttpClient.Redirect.NEVER)
                .build();
        tokenEndpoint = URI.create(login.tokenEndpoint().orElseGet(() -> authServerUrl.filter(s -> !s.isBlank())
                .orElse(config.keycloak().url() + "/realms/" + config.keycloak().realm())
                + "/protocol/openid-connect/token"));
        AdvancedCache<String, Object> counts = caches.<String, Object>getCache(CacheNames.LOGIN_LIMITS)
                .getAdvancedCache();
        BrokerConfig.Login.RateLimit limits = login.rateLimit();
        perUser = new ClusterWindowLimiter(counts, "user", limits.perUser(), limits.window());
        perAddress = new ClusterWindowLimiter(counts, "address", limits.perAddress(), limits.window());
        refreshesPerAddress = new ClusterWindowLimiter(counts, "refresh", limits.refreshesPerAddress(),
                limits.window());
    }

    /** The password grant for {@code username}; the answer is Keycloak's token response or a problem. */
    public CompletionStage<Response> login(String username, String password, String clientAddress) {
        if (username == null || username.isBlank() || password == null || password.isEmpty()) {
            return done(invalid("username and password are required"));
        }
        if (username.length() > MAX_USERNAME || password.length() > MAX_PASSWORD) {
            return done(invalid("username or password is too long"));
        }
        Duration wait = perAddress.tryAcquire(clientAddress);
        if (wait.isZero()) {
            wait = perUser.tryAcquire(username.trim().toLowerCase(Locale.ROOT));
        }
        if (!wait.isZero()) {
            LOG.infof("Sign-in attempts for user %s from %s are rate-limited", LogSafe.of(username), clientAddress);
            return done(tooManyAttempts(wait));
        }
        Map<String, String> form = new LinkedHashMap<>();
        form.put("grant_type", "password");
        form.put("client_id", config.login().clientId());
        form.put("username", username);
        form.put("password", password);
        return tokenRequest(form).thenApply(answer -> {
            if (answer.status == 200) {
                LOG.debugf("User %s signed in with the password grant", LogSafe.of(username));
                return tokens(answer.body);
            }
            if (isInvalidGrant(answer)) {
                // unknown user, wrong password, disabled account: one answer, so names cannot be probed
                LOG.debugf("Sign-in of user %s refused by the identity provider", LogSafe.of(username));
                return invalidCredentials();
            }
            return unexpected(answer);
        }).exceptionally(LoginService::unreachable);
    }

    /** The refresh grant: a new access token (and refresh token) for a refresh token Keycloak issued. */
    public CompletionStage<Response> refresh(String refreshToken, String clientAddress) {
        if (refreshToken == null || refreshToken.isBlank()) {
            return done(invalid("refresh_token is required"));
        }
        if (refreshToken.length() > MAX_REFRESH_TOKEN) {
            return done(invalid("refresh_token is too long"));
        }
        // a refresh token is a bearer secret, so guessing is not the threat; this bounds how hard one address can
        // make the broker lean on Keycloak's token endpoint
        Duration wait = refreshesPerAddress.tryAcquire(clientAddress);
        if (!wait.isZero()) {
            LOG.infof("Token refreshes from %s are rate-limited", clientAddress);
            return done(tooManyAttempts(wait));
        }
        Map<String, String> form = new LinkedHashMap<>();
        form.put("grant_type", "refresh_token");
        form.put("client_id", config.login().clientId());
        form.put("refresh_token", refreshToken);
        return tokenRequest(form).thenApply(answer -> {
            if (answer.status == 200) {
                return tokens(answer.body);
            }
            if (isInvalidGrant(answer)) {
                return Problem.of(401, "invalid-refresh-token", "Invalid refresh token",
                        "the refresh token is not valid (expired, revoked or not issued to this client); sign in again")
                        .toResponse();
            }
            return unexpected(answer);
        }).exceptionally(LoginService::unreachable);
    }

    private CompletionStage<TokenAnswer> tokenRequest(Map<String, String> form) {
        String body = form.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        HttpRequest request = HttpRequest.newBuilder(tokenEndpoint)
                .timeout(config.login().timeout())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenApply(response -> {
            JsonNode json;
            try {
                json = JSON.readTree(response.body());
            } catch (IOException | RuntimeException notJson) {
                json = null;
            }
            return new TokenAnswer(response.statusCode(), json == null ? JSON.createObjectNode() : json);
        });
    }

    private static boolean isInvalidGrant(TokenAnswer answer) {
        return (answer.status == 400 || answer.status == 401)
                && "invalid_grant".equals(answer.body.path("error").asText());
    }

    private static Response tokens(JsonNode body) {
        Map<String, Object> tokens = new LinkedHashMap<>();
        for (String field : TOKEN_FIELDS) {
            JsonNode value = body.get(field);
            if (value != null && !value.isNull()) {
                tokens.put(field, value.isNumber() ? value.numberValue() : value.asText());
            }
        }
        return Response.ok(tokens, MediaType.APPLICATION_JSON_TYPE).header(HttpHeaders.CACHE_CONTROL, "no-store")
                .header("Pragma", "no-cache").build();
    }

    private static Response invalidCredentials() {
        return Response.fromResponse(Problem.of(401, "invalid-credentials", "Invalid credentials",
                "the user name or password is not correct").toResponse())
                .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer").build();
    }

    private static Response invalid(String detail) {
        return Problem.of(400, "invalid-request", "Invalid request", detail).toResponse();
    }

    private static Response tooManyAttempts(Duration wait) {
        long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
        return Response.fromResponse(Problem.of(429, "too-many-sign-in-attempts", "Too many sign-in attempts",
                "too many sign-in attempts for this user or from this address; retry after " + seconds + " s")
                .toResponse()).header(HttpHeaders.RETRY_AFTER, Long.toString(seconds)).build();
    }

    /** Keycloak answered, but not as a token endpoint should for these grants: misconfiguration or an outage. */
    private Response unexpected(TokenAnswer answer) {
        if (answer.status >= 500) {
            LOG.warnf("Identity provider (Keycloak) token endpoint %s answered %d", tokenEndpoint, answer.status);
            return identityProviderUnavailable();
        }
        // error codes only; Keycloak's answer never carries the request's credentials, but do not echo it anyway
        LOG.errorf("Identity provider (Keycloak) refused the %s client's grant: HTTP %d %s", config.login().clientId(),
                answer.status, answer.body.path("error").asText("(no error code)"));
        return Problem.of(502, "identity-provider-error", "Identity provider error",
                "the identity provider (Keycloak) refused the broker's sign-in request; this is a broker "
                        + "configuration problem, not your credentials")
                .toResponse();
    }

    private static Response unreachable(Throwable failure) {
        Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
        LOG.warnf("Identity provider (Keycloak) not reachable for sign-in: %s", cause.toString());
        return identityProviderUnavailable();
    }

    private static Response identityProviderUnavailable() {
        return Response.fromResponse(Problem.of(503, "identity-provider-unavailable",
                "Identity provider (Keycloak) unavailable",
                "the identity provider (Keycloak) cannot be reached, so new sign-ins are not possible right now; "
                        + "desktops of users already signed in keep working")
                .toResponse()).header(HttpHeaders.RETRY_AFTER, "10").build();
    }

    private static CompletionStage<Response> done(Response response) {
        return CompletableFuture.completedFuture(response);
    }

    private record TokenAnswer(int status, JsonNode body) {
    }
}
