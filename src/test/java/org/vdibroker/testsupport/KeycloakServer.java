package org.vdibroker.testsupport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The real Keycloak server with the realm {@code vdi} from {@code config/keycloak/vdi-realm.json}, for tests: started
 * at most once per JVM from the unpacked dist and stopped by a shutdown hook, so test classes share it and a test run
 * never leaves it running.
 *
 * <p>The dist comes from the system property {@code keycloak.dist.dir} (default {@code target/keycloak}), which holds
 * {@code keycloak-26.5.6/}; Maven unpacks it there before the integration tests. {@link #stop()} and {@link #start()}
 * simulate an outage: the server comes back on the same port, but with an in-memory database, so it has new signing
 * keys, user ids and no sessions from before.
 */
public final class KeycloakServer {

    public static final String VERSION = "26.5.6";
    public static final String REALM = "vdi";
    public static final String ADMIN_USER = "admin";
    public static final String ADMIN_PASSWORD = "admin";

    /** The first start of a freshly unpacked dist re-augments Keycloak first; a busy machine may need longer. */
    private static final Duration START_TIMEOUT =
            Duration.ofSeconds(Long.getLong("keycloak.start.timeout.seconds", 300));
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    private static final Path LOG_FILE = Path.of("target", "keycloak-test.log");
    private static final Path PID_FILE = Path.of("target", "keycloak-test.pid");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static volatile Process process;
    private static int port;
    private static String issuer;
    private static boolean started;
    private static boolean shutdownHookInstalled;

    private KeycloakServer() {
    }

    /** Starts Keycloak unless it is running, and waits until the realm answers. Always the same port in one JVM. */
    public static synchronized void start() {
        if (isRunning()) {
            return;
        }
        installShutdownHook();
        stopLeftOverFromEarlierRun();
        Path home = distHome();
        if (port == 0) {
            port = freeLoopbackPort();
        }
        try {
            Path importDir = home.resolve("data").resolve("import");
            deleteRecursively(importDir);
            Files.createDirectories(importDir);
            Files.copy(realmFile(), importDir.resolve("vdi-realm.json"), StandardCopyOption.REPLACE_EXISTING);
            Files.createDirectories(LOG_FILE.toAbsolutePath().getParent());

            ProcessBuilder builder = new ProcessBuilder(
                    "bash", home.resolve("bin").resolve("kc.sh").toString(), "start-dev",
                    "--db=dev-mem", "--http-host=127.0.0.1", "--http-port=" + port, "--import-realm")
                    .directory(home.toFile())
                    .redirectErrorStream(true)
                    // the first start of a JVM starts a fresh log; restarts append to it
                    .redirectOutput(started
                            ? ProcessBuilder.Redirect.appendTo(LOG_FILE.toAbsolutePath().toFile())
                            : ProcessBuilder.Redirect.to(LOG_FILE.toAbsolutePath().toFile()));
            Map<String, String> env = builder.environment();
            // Keycloak runs on the JVM that runs the tests.
            env.put("JAVA_HOME", System.getProperty("java.home"));
            env.put("KC_BOOTSTRAP_ADMIN_USERNAME", ADMIN_USER);
            env.put("KC_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD);
            env.put("JAVA_OPTS_KC_HEAP", "-Xms64m -Xmx512m");
            // C1 only: Keycloak boots (and re-augments in start-dev) while the tests' own JVMs compete for two cores
            env.put("JAVA_OPTS_APPEND", "-XX:TieredStopAtLevel=1" + (Runtime.version().feature() >= 24
                    ? " --add-opens=java.base/java.lang=ALL-UNNAMED" : ""));
            process = builder.start();
            started = true;
            Files.writeString(PID_FILE, Long.toString(process.pid()));
        } catch (IOException e) {
            throw new UncheckedIOException("could not start Keycloak from " + home, e);
        }
        awaitRealm();
    }

    /** Stops Keycloak and its child processes, if running; waits until they are gone. */
    public static synchronized void stop() {
        if (process == null) {
            return;
        }
        destroyTree(process.toHandle());
        process = null;
        issuer = null;
        deletePidFile();
    }

    public static synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** For example {@code http://127.0.0.1:41234}; what the broker calls {@code broker.keycloak.url}. */
    public static String baseUrl() {
        requireStarted();
        return "http://127.0.0.1:" + port;
    }

    /**
     * For example {@code http://127.0.0.1:41234/realms/vdi}; what Quarkus calls {@code quarkus.oidc.auth-server-url}.
     */
    public static String realmUrl() {
        return baseUrl() + "/realms/" + REALM;
    }

    /** The {@code iss} of the realm's tokens, as its discovery document states it. */
    public static synchronized String issuer() {
        requireStarted();
        return issuer != null ? issuer : realmUrl();
    }

    public static String tokenEndpoint() {
        return realmUrl() + "/protocol/openid-connect/token";
    }

    /** Resource owner password grant; returns the access token or fails with Keycloak's error. */
    public static String passwordGrant(String clientId, String username, String password) {
        Map<String, String> form = new LinkedHashMap<>();
        form.put("grant_type", "password");
        form.put("client_id", clientId);
        form.put("username", username);
        form.put("password", password);
        return accessToken(tokenRequest(form), "password grant for " + username + " on " + clientId);
    }

    /** Client credentials grant of a confidential client (e.g. vdi-broker's service account). */
    public static String clientCredentialsGrant(String clientId, String clientSecret) {
        Map<String, String> form = new LinkedHashMap<>();
        form.put("grant_type", "client_credentials");
        form.put("client_id", clientId);
        form.put("client_secret", clientSecret);
        return accessToken(tokenRequest(form), "client credentials grant for " + clientId);
    }

    /**
     * A call to Keycloak's admin REST API for the test realm ({@code path} relative to {@code /admin/realms/vdi}), as
     * the server's own administrator (master realm, admin-cli). Returns the status and, for a creation, the new
     * resource's id (the last segment of {@code Location}) or else the body.
     */
    public static AdminAnswer admin(String method, String path, String jsonBody) {
        Map<String, String> form = new LinkedHashMap<>();
        form.put("grant_type", "password");
        form.put("client_id", "admin-cli");
        form.put("username", ADMIN_USER);
        form.put("password", ADMIN_PASSWORD);
        String token;
        try {
            String body = form.entrySet().stream()
                    .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                            + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                    .collect(Collectors.joining("&"));
            HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(
                    URI.create(baseUrl() + "/realms/master/protocol/openid-connect/token"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            token = accessToken(JSON.readTree(answer.body()), "admin sign-in");
            HttpRequest.Builder call = HttpRequest.newBuilder(URI.create(baseUrl() + "/admin/realms/" + REALM + path))
                    .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json")
                    .method(method, jsonBody == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(jsonBody));
            HttpResponse<String> result = HTTP.send(call.build(), HttpResponse.BodyHandlers.ofString());
            String location = result.headers().firstValue("Location").orElse(null);
            return new AdminAnswer(result.statusCode(),
                    location != null ? location.substring(location.lastIndexOf('/') + 1) : result.body());
        } catch (IOException e) {
            throw new UncheckedIOException("Keycloak admin call " + method + " " + path + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Status and the new id (after a creation) or the body. */
    public record AdminAnswer(int status, String body) {
    }

    /** Posts a form to the realm's token endpoint and returns the JSON answer, success or error. */
    public static JsonNode tokenRequest(Map<String, String> form) {
        String body = form.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        HttpRequest request = HttpRequest.newBuilder(URI.create(tokenEndpoint()))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        try {
            return JSON.readTree(HTTP.send(request, HttpResponse.BodyHandlers.ofString()).body());
        } catch (IOException e) {
            throw new UncheckedIOException("token request to " + tokenEndpoint() + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static String accessToken(JsonNode answer, String what) {
        JsonNode token = answer.get("access_token");
        if (token == null || !token.isTextual()) {
            // error and error_description only: never echo a request's credentials
            throw new IllegalStateException(what + " failed: " + answer.path("error").asText()
                    + " " + answer.path("error_description").asText());
        }
        return token.asText();
    }

    private static void awaitRealm() {
        URI discovery = URI.create(realmUrl() + "/.well-known/openid-configuration");
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (!process.isAlive()) {
                int exit = process.exitValue();
                process = null;
                throw new IllegalStateException("Keycloak exited with " + exit + " while starting:\n" + logTail());
            }
            try {
                HttpResponse<String> response = HTTP.send(
                        HttpRequest.newBuilder(discovery).timeout(Duration.ofSeconds(5)).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    issuer = JSON.readTree(response.body()).path("issuer").asText(null);
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop();
                throw new IllegalStateException("interrupted while waiting for Keycloak", e);
            }
            if (System.nanoTime() > deadline) {
                stop();
                throw new IllegalStateException("Keycloak did not serve " + discovery + " within "
                        + START_TIMEOUT.toSeconds() + " s:\n" + logTail());
            }
            sleep(Duration.ofMillis(500));
        }
    }

    private static void installShutdownHook() {
        if (!shutdownHookInstalled) {
            // not through stop(): a start() still waiting for the realm holds the lock
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                Process current = process;
                if (current != null) {
                    destroyTree(current.toHandle());
                    deletePidFile();
                }
            }, "keycloak-test-server-stop"));
            shutdownHookInstalled = true;
        }
    }

    /** A Keycloak that an earlier test JVM left behind when it was killed before its shutdown hook ran. */
    private static void stopLeftOverFromEarlierRun() {
        if (!Files.isRegularFile(PID_FILE)) {
            return;
        }
        try {
            long pid = Long.parseLong(Files.readString(PID_FILE).trim());
            ProcessHandle.of(pid)
                    .filter(h -> h.info().commandLine().map(c -> c.contains("keycloak")).orElse(false))
                    .ifPresent(KeycloakServer::destroyTree);
            Files.deleteIfExists(PID_FILE);
        } catch (IOException | NumberFormatException ignored) {
            // nothing we can identify: leave it
        }
    }

    /** Descendants first (kc.sh may be running a re-augmentation child), then the process itself. */
    private static void destroyTree(ProcessHandle root) {
        List<ProcessHandle> tree = new ArrayList<>(root.descendants().toList());
        tree.add(root);
        tree.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos();
        for (ProcessHandle handle : tree) {
            long left = Math.max(0, deadline - System.nanoTime());
            try {
                handle.onExit().get(left, TimeUnit.NANOSECONDS);
            } catch (Exception notYet) {
                handle.destroyForcibly();
            }
        }
        for (ProcessHandle handle : tree) {
            try {
                handle.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // reported by the next start if the port is still taken
            }
        }
    }

    private static void deletePidFile() {
        try {
            Files.deleteIfExists(PID_FILE);
        } catch (IOException ignored) {
            // only a hint for the next run
        }
    }

    private static Path distHome() {
        Path dist = Path.of(System.getProperty("keycloak.dist.dir", "target/keycloak"));
        Path home = dist.resolve("keycloak-" + VERSION);
        if (!Files.isRegularFile(home.resolve("bin").resolve("kc.sh"))) {
            throw new IllegalStateException("no Keycloak " + VERSION + " in " + home.toAbsolutePath()
                    + "; run 'mvn verify' (it unpacks org.keycloak:keycloak-quarkus-dist:" + VERSION
                    + ":zip before the integration tests) or set -Dkeycloak.dist.dir");
        }
        return home.toAbsolutePath();
    }

    private static Path realmFile() {
        Path realm = Path.of(System.getProperty("keycloak.realm.file", "config/keycloak/vdi-realm.json"));
        if (!Files.isRegularFile(realm)) {
            throw new IllegalStateException("realm file " + realm.toAbsolutePath() + " not found");
        }
        return realm;
    }

    private static int freeLoopbackPort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port on 127.0.0.1", e);
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(path);
            }
        }
    }

    private static String logTail() {
        try {
            List<String> lines = Files.readAllLines(LOG_FILE);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log in " + LOG_FILE.toAbsolutePath() + ")";
        }
    }

    private static void requireStarted() {
        if (port == 0) {
            throw new IllegalStateException("KeycloakServer.start() has not been called");
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
