package org.vdibroker.ops;

import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Watches whether Keycloak answers, for operators: shown in the readiness details, but never a reason for the broker
 * to be unready (tokens are checked locally, so brokering goes on while Keycloak is down). Checked in the
 * background, never on a probe request.
 */
@ApplicationScoped
public class IdentityProviderProbe {

    @ConfigProperty(name = "quarkus.oidc.auth-server-url")
    Optional<String> realmUrl;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private volatile String state = "UNKNOWN";

    /** UP, DOWN, UNKNOWN (not checked yet) or NOT_CONFIGURED. */
    public String state() {
        return state;
    }

    @Scheduled(every = "5s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void check() {
        if (realmUrl.isEmpty() || realmUrl.get().isBlank()) {
            state = "NOT_CONFIGURED";
            return;
        }
        HttpRequest request = HttpRequest.newBuilder(
                URI.create(realmUrl.get().replaceAll("/+$", "") + "/.well-known/openid-configuration"))
                .timeout(Duration.ofSeconds(3)).GET().build();
        http.sendAsync(request, HttpResponse.BodyHandlers.discarding())
                .whenComplete((response, error) -> state = error == null && response.statusCode() == 200 ? "UP"
                        : "DOWN");
    }
}
