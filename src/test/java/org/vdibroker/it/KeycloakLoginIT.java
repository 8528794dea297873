package org.vdibroker.it;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.io.IOException;
import java.net.CookieHandler;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.DemoBrokerResource;
import org.vdibroker.testsupport.KeycloakServer;
import org.vdibroker.testsupport.KeycloakTestResource;

/**
 * Thin-client sign-in against the packaged broker and the real Keycloak: the broker's password login and refresh, the
 * device-code flow completed through Keycloak's own pages as a browser would, each leading to a desktop for demo and
 * to 403 for bob; wrong credentials, rate limits and logs.
 */
@QuarkusIntegrationTest
@QuarkusTestResource(value = KeycloakTestResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = DemoBrokerResource.class, restrictToAnnotatedClass = true)
@QuarkusTestResource(value = KeycloakLoginIT.Limits.class, restrictToAnnotatedClass = true)
class KeycloakLoginIT {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final String SECRET_PASSWORD = "Wr0ng-But-Secret-Pa55word-7f3c";

    /** A small per-user limit, a per-address limit that this class's tests do not reach; debug logs on. */
    public static class Limits implements QuarkusTestResourceLifecycleManager {
        @Override
        public Map<String, String> start() {
            return Map.of("broker.login.rate-limit.per-user", "5",
                    "broker.login.rate-limit.per-address", "1000",
                    "quarkus.log.category.\"org.vdibroker\".level", "DEBUG");
        }

        @Override
        public void stop() {
        }
    }

    @Test
    void passwordLoginThroughTheBrokerLeadsToADesktopForDemoAnd403ForBob() {
        Response demo = brokerLogin("demo", "demo");
        demo.then().statusCode(200).contentType(ContentType.JSON).header("Cache-Control", "no-store");
        assertThat(demo.jsonPath().getString("access_token")).isNotBlank();
        assertThat(demo.jsonPath().getString("refresh_token")).isNotBlank();
        assertThat(demo.jsonPath().getInt("expires_in")).isPositive();
        assertThat(demo.jsonPath().getString("token_type")).isEqualToIgnoringCase("Bearer");
        assertThat(desktop(demo.jsonPath().getString("access_token")).statusCode()).isEqualTo(200);

        String bob = brokerLogin("bob", "bob").then().statusCode(200).extract().path("access_token");
        given().auth().oauth2(bob).post("/api/v1/me/pools/demo/desktop").then().statusCode(403);

        // a form body works too
        given().contentType(ContentType.URLENC).formParam("username", "alice").formParam("password", "alice")
                .post("/api/v1/login").then().statusCode(200);
    }

    @Test
    void wrongPasswordAndUnknownUserGetTheSameAnswerAndNoPasswordIsLogged() throws IOException {
        Response wrong = brokerLogin("demo", SECRET_PASSWORD);
        Response unknown = brokerLogin("nobody-" + System.nanoTime(), SECRET_PASSWORD);
        wrong.then().statusCode(401).contentType("application/problem+json");
        unknown.then().statusCode(401).contentType("application/problem+json");
        assertThat(wrong.asString()).isEqualTo(unknown.asString());
        assertThat(wrong.jsonPath().getString("type")).endsWith("/invalid-credentials");
        given().contentType(ContentType.URLENC).formParam("username", "alice")
                .formParam("password", SECRET_PASSWORD).post("/api/v1/login").then().statusCode(401);

        given().contentType(ContentType.JSON).body(Map.of("username", "demo")).post("/api/v1/login").then()
                .statusCode(400).contentType("application/problem+json");

        // the broker logs sign-ins at DEBUG here (so the log is the right one), never a password
        Path log = Path.of("target", "quarkus.log");
        assertThat(log).exists();
        String text = Files.readString(log);
        assertThat(text).contains("User demo signed in").doesNotContain(SECRET_PASSWORD);
    }

    @Test
    void attemptsForOneUserNameAreRateLimited() {
        String user = "limited-" + System.nanoTime();
        for (int i = 0; i < 5; i++) {
            brokerLogin(user, "wrong-" + i).then().statusCode(401);
        }
        Response limited = brokerLogin(user.toUpperCase(), "wrong");
        limited.then().statusCode(429).contentType("application/problem+json");
        assertThat(Integer.parseInt(limited.header("Retry-After"))).isBetween(1, 60);
        assertThat(limited.jsonPath().getString("type")).endsWith("/too-many-sign-in-attempts");
        // other users are not affected
        brokerLogin("alice", "alice").then().statusCode(200);
    }

    @Test
    void refreshGivesATokenThatGetsADesktop() {
        Response first = brokerLogin("demo", "demo");
        String refreshToken = first.then().statusCode(200).extract().path("refresh_token");

        Response refreshed = given().contentType(ContentType.JSON).body(Map.of("refresh_token", refreshToken))
                .post("/api/v1/login/refresh");
        refreshed.then().statusCode(200).header("Cache-Control", "no-store");
        String access = refreshed.jsonPath().getString("access_token");
        assertThat(access).isNotBlank().isNotEqualTo(first.jsonPath().getString("access_token"));
        assertThat(refreshed.jsonPath().getString("refresh_token")).isNotBlank();
        assertThat(desktop(access).statusCode()).isEqualTo(200);

        given().contentType(ContentType.URLENC).formParam("refresh_token", refreshed.jsonPath().getString(
                "refresh_token")).post("/api/v1/login/refresh").then().statusCode(200);
        Response bad = given().contentType(ContentType.JSON).body(Map.of("refresh_token", "not-a-refresh-token"))
                .post("/api/v1/login/refresh");
        bad.then().statusCode(401).contentType("application/problem+json");
        assertThat(bad.jsonPath().getString("type")).endsWith("/invalid-refresh-token");
        given().contentType(ContentType.JSON).body("{}").post("/api/v1/login/refresh").then().statusCode(400);

        String bobRefresh = brokerLogin("bob", "bob").then().statusCode(200).extract().path("refresh_token");
        String bob = given().contentType(ContentType.JSON).body(Map.of("refresh_token", bobRefresh))
                .post("/api/v1/login/refresh").then().statusCode(200).extract().path("access_token");
        given().auth().oauth2(bob).post("/api/v1/me/pools/demo/desktop").then().statusCode(403);
    }

    /** Device authorization grant; the user's step goes through Keycloak's own pages with plain HTTP and cookies. */
    @Test
    void deviceCodeFlowThroughKeycloaksPagesLeadsToADesktopForDemoAnd403ForBob() throws Exception {
        String info = given().get("/api/v1/login").then().statusCode(200).extract().path(
                "deviceAuthorizationEndpoint");
        assertThat(info).isEqualTo(KeycloakServer.realmUrl() + "/protocol/openid-connect/auth/device");

        String demo = deviceFlow("demo", "demo");
        assertThat(desktop(demo).statusCode()).isEqualTo(200);
        String bob = deviceFlow("bob", "bob");
        given().auth().oauth2(bob).post("/api/v1/me/pools/demo/desktop").then().statusCode(403);
    }

    /**
     * The browser portal's sign-in: the authorization code flow with PKCE (S256) of the public client vdi-portal,
     * driven as a browser would (Keycloak's login page, cookies, the redirect back with the code), then the code
     * exchanged with its verifier. Keycloak refuses the exchange without the verifier, so PKCE is enforced.
     */
    @Test
    void codeFlowWithPkceLeadsToADesktopForDemoAnd403ForBob() throws Exception {
        String portal = given().get("/api/v1/login").then().statusCode(200).extract().path("portalClientId");
        assertThat(portal).isEqualTo("vdi-portal");

        String demo = codeFlow(portal, "demo", "demo", true);
        assertThat(desktop(demo).statusCode()).isEqualTo(200);
        String bob = codeFlow(portal, "bob", "bob", true);
        given().auth().oauth2(bob).post("/api/v1/me/pools/demo/desktop").then().statusCode(403);

        assertThatThrownBy(() -> codeFlow(portal, "alice", "alice", false))
                .hasMessageContaining("code exchange refused").hasMessageContaining("PKCE");
    }

    // ---- helpers, also used by the other Keycloak*IT classes ----

    static Response brokerLogin(String username, String password) {
        return given().contentType(ContentType.JSON).body(Map.of("username", username, "password", password))
                .post("/api/v1/login");
    }

    /** Asks for a desktop of pool demo until it is ready (200) or a minute has passed. */
    static Response desktop(String token) {
        Response answer = given().auth().oauth2(token).post("/api/v1/me/pools/demo/desktop");
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (answer.statusCode() == 202 && Instant.now().isBefore(deadline)) {
            sleep(1000);
            answer = given().auth().oauth2(token).post("/api/v1/me/pools/demo/desktop");
        }
        return answer;
    }

    static JsonNode payload(String jwt) throws IOException {
        return JSON.readTree(java.util.Base64.getUrlDecoder().decode(jwt.split("\\.")[1]));
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Starts the device flow for vdi-client, lets the user sign in at the verification URI (following redirects,
     * keeping cookies, submitting Keycloak's HTML forms: user code, login, consent) and polls to an access token.
     */
    static String deviceFlow(String username, String password) throws Exception {
        HttpClient browser = HttpClient.newBuilder().cookieHandler(new BrowserCookies())
                .followRedirects(HttpClient.Redirect.NORMAL).connectTimeout(Duration.ofSeconds(5)).build();
        JsonNode start = JSON.readTree(post(browser,
                KeycloakServer.realmUrl() + "/protocol/openid-connect/auth/device",
                Map.of("client_id", "vdi-client")).body());
        String deviceCode = start.path("device_code").asText();
        String userCode = start.path("user_code").asText();
        assertThat(deviceCode).isNotBlank();
        assertThat(userCode).isNotBlank();

        // before the user's step, polling says so
        JsonNode pending = KeycloakServer.tokenRequest(Map.of("grant_type",
                "urn:ietf:params:oauth:grant-type:device_code", "client_id", "vdi-client", "device_code", deviceCode));
        assertThat(pending.path("error").asText()).isEqualTo("authorization_pending");

        HttpResponse<String> page = browser.send(HttpRequest.newBuilder(
                URI.create(start.path("verification_uri_complete").asText())).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        // user code (if not taken from the URI), login form, consent (if Keycloak asks): whatever it shows next
        boolean loggedIn = false;
        for (int step = 0; step < 8; step++) {
            assertThat(page.statusCode()).as("Keycloak page status: %s", page.body()).isLessThan(400);
            String html = page.body();
            Matcher form = Pattern.compile("<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", Pattern.DOTALL)
                    .matcher(html);
            if (!form.find()) {
                break;
            }
            String action = page.uri().resolve(form.group(1).replace("&amp;", "&")).toString();
            String inner = form.group(2);
            Map<String, String> fields = new LinkedHashMap<>();
            Matcher hidden = Pattern.compile("<input[^>]*type=\"hidden\"[^>]*>").matcher(inner);
            while (hidden.find()) {
                String name = attribute(hidden.group(), "name");
                if (name != null) {
                    fields.put(name, attribute(hidden.group(), "value") == null ? ""
                            : attribute(hidden.group(), "value"));
                }
            }
            if (inner.contains("name=\"password\"")) {
                fields.put("username", username);
                fields.put("password", password);
                loggedIn = true;
            } else if (inner.contains("name=\"device_user_code\"")) {
                fields.put("device_user_code", userCode);
            } else if (inner.contains("name=\"accept\"")) {
                fields.put("accept", "Yes");
            } else if (loggedIn) {
                break;
            } else {
                throw new AssertionError("unexpected Keycloak page:\n" + html);
            }
            page = post(browser, action, fields);
        }
        assertThat(loggedIn).as("reached Keycloak's login form").isTrue();
        assertThat(page.statusCode()).as("after sign-in: %s", page.body()).isEqualTo(200);

        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (true) {
            JsonNode answer = KeycloakServer.tokenRequest(Map.of("grant_type",
                    "urn:ietf:params:oauth:grant-type:device_code", "client_id", "vdi-client", "device_code",
                    deviceCode));
            if (answer.hasNonNull("access_token")) {
                return answer.get("access_token").asText();
            }
            String error = answer.path("error").asText();
            assertThat(error).as("device token answer %s", answer).isIn("authorization_pending", "slow_down");
            assertThat(Instant.now()).as("device flow finished in time").isBefore(deadline);
            sleep("slow_down".equals(error) ? 6000 : 1000);
        }
    }

    static final String PORTAL_REDIRECT = "http://127.0.0.1:8080/portal/signed-in";

    /**
     * The authorization code flow with PKCE for {@code clientId}: opens the authorization endpoint with an S256
     * challenge, submits Keycloak's login form, stops at the redirect back to the portal (never followed: no portal
     * runs there in tests) and exchanges the code, with the verifier when {@code sendVerifier}.
     */
    static String codeFlow(String clientId, String username, String password, boolean sendVerifier)
            throws Exception {
        HttpClient browser = HttpClient.newBuilder().cookieHandler(new BrowserCookies())
                .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5)).build();
        byte[] random = new byte[32];
        new java.security.SecureRandom().nextBytes(random);
        String verifier = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        String challenge = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                java.security.MessageDigest.getInstance("SHA-256")
                        .digest(verifier.getBytes(StandardCharsets.US_ASCII)));
        String state = Long.toHexString(System.nanoTime());
        String authorize = KeycloakServer.realmUrl() + "/protocol/openid-connect/auth?" + Map.of(
                "client_id", clientId, "response_type", "code", "scope", "openid",
                "redirect_uri", PORTAL_REDIRECT, "state", state,
                "code_challenge", challenge, "code_challenge_method", "S256").entrySet().stream()
                .map(e -> e.getKey() + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        HttpResponse<String> page = follow(browser, browser.send(HttpRequest.newBuilder(URI.create(authorize)).GET()
                .build(), HttpResponse.BodyHandlers.ofString()));
        assertThat(page.statusCode()).as("login page: %s", page.body()).isEqualTo(200);
        Matcher form = Pattern.compile("<form[^>]*action=\"([^\"]+)\"", Pattern.DOTALL).matcher(page.body());
        assertThat(form.find()).as("Keycloak's login form").isTrue();
        String action = page.uri().resolve(form.group(1).replace("&amp;", "&")).toString();
        HttpResponse<String> after = follow(browser, post(browser, action,
                Map.of("username", username, "password", password, "credentialId", "")));
        assertThat(after.statusCode()).as("redirect back to the portal: %s", after.body()).isEqualTo(302);
        URI back = URI.create(after.headers().firstValue("Location").orElseThrow());
        assertThat(back.toString()).startsWith(PORTAL_REDIRECT);
        Map<String, String> query = java.util.Arrays.stream(back.getRawQuery().split("&"))
                .map(p -> p.split("=", 2)).collect(Collectors.toMap(p -> p[0],
                        p -> java.net.URLDecoder.decode(p.length > 1 ? p[1] : "", StandardCharsets.UTF_8)));
        assertThat(query).containsEntry("state", state).containsKey("code");

        Map<String, String> exchange = new LinkedHashMap<>(Map.of("grant_type", "authorization_code",
                "client_id", clientId, "code", query.get("code"), "redirect_uri", PORTAL_REDIRECT));
        if (sendVerifier) {
            exchange.put("code_verifier", verifier);
        }
        JsonNode tokens = KeycloakServer.tokenRequest(exchange);
        if (!tokens.hasNonNull("access_token")) {
            throw new AssertionError("code exchange refused: " + tokens.path("error_description").asText());
        }
        return tokens.get("access_token").asText();
    }

    /** Follows redirects within Keycloak (same origin); a redirect elsewhere is returned as it is. */
    private static HttpResponse<String> follow(HttpClient browser, HttpResponse<String> answer) throws Exception {
        for (int hops = 0; hops < 10 && answer.statusCode() / 100 == 3; hops++) {
            URI next = answer.uri().resolve(answer.headers().firstValue("Location").orElseThrow());
            if (!next.toString().startsWith(KeycloakServer.baseUrl())) {
                return answer;
            }
            answer = browser.send(HttpRequest.newBuilder(next).GET().build(), HttpResponse.BodyHandlers.ofString());
        }
        return answer;
    }

    /**
     * A browser's cookie jar for one test host: keeps every cookie Keycloak sets (also those marked Secure, which
     * java.net.CookieManager would not send over plain HTTP) and drops the ones it expires.
     */
    static final class BrowserCookies extends CookieHandler {
        private final Map<String, String> jar = new ConcurrentHashMap<>();

        @Override
        public Map<String, List<String>> get(URI uri, Map<String, List<String>> requestHeaders) {
            if (jar.isEmpty()) {
                return Map.of();
            }
            return Map.of("Cookie", List.of(jar.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.joining("; "))));
        }

        @Override
        public void put(URI uri, Map<String, List<String>> responseHeaders) {
            responseHeaders.forEach((header, values) -> {
                if (header != null && header.equalsIgnoreCase("Set-Cookie")) {
                    for (String cookie : values) {
                        String[] parts = cookie.split(";");
                        int eq = parts[0].indexOf('=');
                        if (eq <= 0) {
                            continue;
                        }
                        String name = parts[0].substring(0, eq).trim();
                        String value = parts[0].substring(eq + 1).trim();
                        String lower = cookie.toLowerCase(Locale.ROOT).replace(" ", "");
                        if (value.isEmpty() || lower.contains("max-age=0") || lower.contains("expires=thu,01-jan-1970")
                                || lower.contains("expires=thu,01jan1970")) {
                            jar.remove(name);
                        } else {
                            jar.put(name, value);
                        }
                    }
                }
            });
        }
    }

    private static String attribute(String tag, String name) {
        Matcher m = Pattern.compile("\\s" + name + "=\"([^\"]*)\"").matcher(tag);
        return m.find() ? m.group(1).replace("&amp;", "&") : null;
    }

    static HttpResponse<String> post(HttpClient client, String url, Map<String, String> form)
            throws IOException, InterruptedException {
        String body = form.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
                        + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

}
