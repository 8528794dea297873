package org.vdibroker.security;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.config.HttpClientConfig;
import io.restassured.config.RestAssuredConfig;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.vdibroker.hypervisor.simulator.SimulatorControl;
import org.vdibroker.security.ApiOperations.Audience;
import org.vdibroker.security.ApiOperations.Operation;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * Every operation of the OpenAPI document × every kind of caller → the status it must get. A new endpoint is
 * covered as soon as it is in the document; its audience comes from its path prefix ({@link Audience}).
 */
@QuarkusTest
class AuthorizationMatrixTest {

    static final String ALICE = Tokens.user("alice-m", "/engineering");
    static final String BOB = Tokens.user("bob-m", "/sales");
    static final String GATEWAY = Tokens.gateway("rd-gateway");
    /** Same signing key, other realm; other client (audience); a key the broker never trusted. */
    static final String OTHER_REALM = Tokens.foreign("alice-m", "https://test.vdibroker/realms/other", "vdi-broker",
            Set.of("vdi-user", "vdi-admin"));
    static final String OTHER_CLIENT = Tokens.foreign("alice-m", Tokens.ISSUER, "some-other-client",
            Set.of("vdi-user", "vdi-admin"));
    static final String UNTRUSTED_KEY = untrustedKeyToken();

    @Inject
    SimulatorControl simulator;

    record Call(String caller, Operation op, int status, String body) {
    }

    @Test
    void everyOperationAnswersEachCallerAsExpected() {
        Fixture f = fixture();
        ApiOperations api = ApiOperations.load();
        assertThat(api.operations()).hasSizeGreaterThan(20);
        List<String> failures = new ArrayList<>();
        // state-changing calls of the owner last (a logoff ends the session the others are checked against)
        List<Operation> ops = new ArrayList<>(api.operations());
        ops.sort(Comparator.comparing(o -> o.path().endsWith("/logoff") ? 1 : 0));
        for (Operation op : ops) {
            Audience audience = op.audience();
            boolean open = audience == Audience.PUBLIC;
            expect(failures, call("anonymous", op, f, null, null), open ? null : 401);
            for (String[] foreign : new String[][] { { "other-realm", OTHER_REALM }, { "other-client", OTHER_CLIENT },
                    { "untrusted-key", UNTRUSTED_KEY } }) {
                expect(failures, call(foreign[0], op, f, "Bearer " + foreign[1], null), open ? null : 401);
            }
            expect(failures, call("agent-of-other-desktop", op, f, "Desktop " + f.secret, f.otherDesktop),
                    open ? null : 401);
            if (audience == Audience.ADMIN) {
                expect(failures, call("user", op, f, "Bearer " + ALICE, null), 403);
                expect(failures, call("gateway", op, f, "Bearer " + GATEWAY, null), 403);
                if (!op.path().endsWith("/drain")) { // draining would take this test node out of service
                    expectAllowed(failures, call("admin", op, f, "Bearer " + Api.ADMIN, null));
                }
            } else if (audience == Audience.GATEWAY) {
                expect(failures, call("user", op, f, "Bearer " + ALICE, null), 403);
                expect(failures, call("admin", op, f, "Bearer " + Api.ADMIN, null), 403);
                expectAllowed(failures, call("gateway", op, f, "Bearer " + GATEWAY, null));
            } else if (audience == Audience.USER) {
                expect(failures, call("gateway", op, f, "Bearer " + GATEWAY, null), 403);
                Call other = call("another-user", op, f, "Bearer " + BOB, null);
                if (op.path().contains("{sessionId}")) {
                    expect(failures, other, 404); // another user's session is reported like a missing one
                } else if (op.path().contains("{poolId}")) {
                    expect(failures, other, 403); // not entitled
                } else {
                    expectAllowed(failures, other);
                }
                // ids echo the caller's own input in errors; an answer must never carry alice's data
                if ((other.status < 300 && other.body.contains(f.session)) || other.body.contains("alice-m")) {
                    failures.add(other + " leaks alice's session");
                }
                expectAllowed(failures, call("user", op, f, "Bearer " + ALICE, null));
            } else if (audience == Audience.AGENT) {
                for (String token : List.of(ALICE, Api.ADMIN, GATEWAY)) {
                    expect(failures, call("bearer-token", op, f, "Bearer " + token, f.otherDesktop), 401);
                }
            }
        }
        assertThat(failures).as("authorization matrix").isEmpty();
    }

    private static void expect(List<String> failures, Call call, Integer status) {
        if (status == null) {
            expectAllowed(failures, call);
        } else if (call.status != status) {
            failures.add(call.caller + " " + call.op + " -> " + call.status + ", expected " + status);
        }
    }

    /** Authorized: whatever the input makes of it, but never refused for who the caller is, and never 5xx. */
    private static void expectAllowed(List<String> failures, Call call) {
        if (call.status == 401 || call.status == 403 || call.status >= 500) {
            failures.add(call.caller + " " + call.op + " -> " + call.status + " " + call.body);
        }
    }

    private Call call(String caller, Operation op, Fixture f, String authorization, String desktopId) {
        String path = op.path();
        for (ApiOperations.Parameter p : op.pathParameters()) {
            path = path.replace("{" + p.name() + "}", value(op, p.name(), f, desktopId));
        }
        RequestSpecification request = given().config(RestAssuredConfig.config().httpClient(HttpClientConfig
                .httpClientConfig().setParam("http.socket.timeout", 15_000)));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        if (op.bodySchema() != null || op.method().equals("post") || op.method().equals("put")) {
            request.contentType(op.bodyMediaType() == null ? "application/json" : op.bodyMediaType()).body("{}");
        }
        Response response = request.request(op.method().toUpperCase(), path);
        String body = op.streams() && response.statusCode() == 200 ? "" : response.asString();
        return new Call(caller, op, response.statusCode(), body);
    }

    /** Real ids where ownership is checked, harmless unknown ids where an admin call would change something. */
    private static String value(Operation op, String name, Fixture f, String desktopId) {
        if (name.equals("sessionId")) {
            return f.session;
        }
        if (name.equals("poolId")) {
            return f.pool;
        }
        if (name.equals("desktopId")) {
            return desktopId == null ? f.otherDesktop : desktopId;
        }
        boolean uuid = op.path().contains("/desktops/{" + name) || op.path().contains("/sessions/{" + name);
        return uuid ? UUID.randomUUID().toString() : "matrix-none";
    }

    record Fixture(String pool, String session, String desktop, String secret, String otherDesktop) {
    }

    private Fixture fixture() {
        if (given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/matrix").statusCode() == 404) {
            Api.simulator("sim-matrix", 10, 50, 50);
            Api.createPool(Api.pool("matrix", "floating", 2, 2, 4, "sim-matrix", List.of("/engineering")));
        }
        Api.await("two ready desktops", Duration.ofSeconds(30), () -> Api.desktopsIn("matrix", "READY") >= 2);
        var session = Api.requestDesktop(ALICE, "matrix").then().statusCode(200).extract().jsonPath();
        String desktop = session.getString("desktopId");
        String vmRef = (String) Api.desktop("matrix", desktop).get("vmRef");
        String secret = simulator.guestMetadata("sim-matrix", vmRef).get(AgentSecrets.METADATA_KEY);
        String other = Api.desktops("matrix").stream().map(d -> (String) d.get("id"))
                .filter(id -> !id.equals(desktop)).findFirst().orElseThrow();
        return new Fixture("matrix", session.getString("id"), desktop, secret, other);
    }

    private static String untrustedKeyToken() {
        try {
            var generator = java.security.KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            var key = generator.generateKeyPair().getPrivate();
            java.time.Instant now = java.time.Instant.now();
            return io.smallrye.jwt.build.Jwt.issuer(Tokens.ISSUER).subject("sub-mallory")
                    .claim("preferred_username", "alice-m")
                    .claim("realm_access", java.util.Map.of("roles", List.of("vdi-user", "vdi-admin")))
                    .audience("vdi-broker").issuedAt(now).expiresAt(now.plusSeconds(600)).jws().keyId("test")
                    .sign(key);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
