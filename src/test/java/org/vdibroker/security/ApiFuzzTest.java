package org.vdibroker.security;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Management.management;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.config.HttpClientConfig;
import io.restassured.config.RestAssuredConfig;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.sessions.JqwikSession;
import org.junit.jupiter.api.Test;
import org.vdibroker.security.ApiOperations.Operation;
import org.vdibroker.security.ApiOperations.Parameter;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * Fuzzes every operation of the OpenAPI document: path and query parameters and request bodies from jqwik
 * generators (shaped by the document's schemas, then bent: wrong types, huge and odd strings, extra keys), sent by a
 * caller allowed to reach the code behind them. No answer may be 5xx, every error is problem+json without a stack
 * trace, and the broker still serves afterwards. Seeded and repeatable: {@code -Dfuzz.seed=...}; longer runs with
 * {@code -Dfuzz.tries=2000} (CI default: 12 per operation).
 */
@QuarkusTest
class ApiFuzzTest {

    static final String ALICE = Tokens.user("alice-f", "/engineering");
    static final long SEED = Long.getLong("fuzz.seed", 20261204L);
    static final int TRIES = Integer.getInteger("fuzz.tries", 12);
    static final ObjectMapper JSON = new ObjectMapper();

    /** Leaf strings: any Unicode, names and ids, and known troublemakers. */
    static final Arbitrary<String> STRINGS = Arbitraries.oneOf(
            Arbitraries.strings().all().ofMaxLength(300),
            Arbitraries.strings().withCharRange('a', 'z').numeric().withChars("-_./%").ofMaxLength(80),
            Arbitraries.strings().withCharRange('a', 'z').ofMinLength(250).ofMaxLength(5000),
            Arbitraries.of("", " ", "..", "../../etc/passwd", "%00", "\u0000", "null", "-1", "0",
                    "99999999999999999999", "1e309", "NaN", "' OR 1=1 --", "<script>alert(1)</script>",
                    "${jndi:ldap://x}", "\r\nX-Injected: 1", "qemu:///system?command=/bin/sh",
                    "test:///default?no_verify=1", "\uD800", "00000000-0000-4000-8000-000000000000", "fuzz"));

    static final Arbitrary<Long> NUMBERS = Arbitraries.oneOf(Arbitraries.longs(),
            Arbitraries.of(0L, -1L, 1L, (long) Integer.MAX_VALUE, (long) Integer.MIN_VALUE, Long.MAX_VALUE,
                    Long.MIN_VALUE, 1_000_000_000L));

    @Test
    void noInputMakesTheBrokerFail() throws Exception {
        if (given().auth().oauth2(Api.ADMIN).get("/api/v1/admin/pools/fuzz").statusCode() == 404) {
            Api.simulator("sim-fuzz", 10, 50, 50);
            Api.createPool(Api.pool("fuzz", "floating", 1, 1, 3, "sim-fuzz", List.of("/engineering")));
        }
        ApiOperations api = ApiOperations.load();
        Random random = new Random(SEED);
        List<String> failures = new ArrayList<>();
        int calls = 0;
        JqwikSession.start();
        try {
            for (Operation op : api.operations()) {
                if (op.path().endsWith("/drain")) {
                    continue; // takes the node out of service: covered by its own tests
                }
                for (int i = 0; i < TRIES; i++) {
                    String failure = fuzz(api, op, random);
                    calls++;
                    if (failure != null) {
                        failures.add(failure);
                    }
                }
            }
        } finally {
            JqwikSession.finish();
        }
        assertThat(failures).as("fuzzing with seed " + SEED + " (" + calls + " calls)").isEmpty();
        // still healthy and serving
        management().get("/q/health/live").then().statusCode(200);
        given().auth().oauth2(ALICE).get("/api/v1/me/pools").then().statusCode(200);
    }

    private String fuzz(ApiOperations api, Operation op, Random random) throws Exception {
        String path = op.path();
        for (Parameter p : op.pathParameters()) {
            String value = random.nextInt(4) == 0 ? known(p.name()) : sample(STRINGS, random);
            if (value.isEmpty()) {
                value = "x";
            }
            path = path.replace("{" + p.name() + "}", urlPart(value));
        }
        RequestSpecification request = given().urlEncodingEnabled(false).config(RestAssuredConfig.config()
                .httpClient(HttpClientConfig.httpClientConfig().setParam("http.socket.timeout", 20_000)));
        StringBuilder query = new StringBuilder();
        for (Parameter p : op.queryParameters()) {
            if (random.nextInt(3) > 0) {
                String value = random.nextBoolean() ? sample(STRINGS, random) : String.valueOf(sample(NUMBERS, random));
                query.append(query.isEmpty() ? "?" : "&").append(p.name()).append('=')
                        .append(urlPart(value));
            }
        }
        switch (op.audience()) {
            case ADMIN -> request.auth().oauth2(Api.ADMIN);
            case USER -> request.auth().oauth2(ALICE);
            case GATEWAY -> request.auth().oauth2(Tokens.gateway("fuzz-gateway"));
            case AGENT -> request.header("Authorization",
                    "Desktop " + sample(STRINGS, random).replaceAll("[\\r\\n]", ""));
            case PUBLIC -> {
            }
        }
        String body = null;
        if (op.bodySchema() != null || op.method().equals("post") || op.method().equals("put")) {
            body = random.nextInt(10) == 0 ? sample(STRINGS, random)
                    : JSON.writeValueAsString(value(api.document(), op.bodySchema(), random, 0));
            List<String> types = op.bodyMediaTypes();
            String type = types.isEmpty() ? "application/json" : types.get(random.nextInt(types.size()));
            if (type.contains("form") && random.nextBoolean()) {
                body = "username=" + URLEncoder.encode(sample(STRINGS, random), StandardCharsets.UTF_8) + "&password="
                        + sample(STRINGS, random).replace("&", "") + "&refresh_token=%zz";
            }
            request.contentType(type).body(body);
        }
        String where = op + " " + path + query + (body == null ? "" : " body " + abbreviate(body));
        Response response;
        try {
            response = request.request(op.method().toUpperCase(), path + query);
        } catch (Exception e) {
            return where + " -> no answer: " + e; // a hang is a finding too
        }
        int status = response.statusCode();
        String text = op.streams() && status == 200 ? "" : response.asString();
        if (status >= 500 && !(status == 503 && text.contains("unavailable"))) {
            return where + " -> " + status + " " + abbreviate(text);
        }
        if (status >= 400 && !String.valueOf(response.contentType()).startsWith("application/problem+json")) {
            return where + " -> " + status + " with content type " + response.contentType();
        }
        if (text.contains("Exception") || text.contains("\tat ") || text.contains("at org.")) {
            return where + " -> " + status + " shows internals: " + abbreviate(text);
        }
        return null;
    }

    /** A JSON value for a schema: usually of the right shape with odd contents, sometimes of the wrong shape. */
    private JsonNode value(JsonNode doc, JsonNode schema, Random random, int depth) {
        schema = ApiOperations.resolve(doc, schema);
        String type = schema == null ? "" : schema.path("type").asText("");
        if (schema != null && schema.has("allOf")) {
            return value(doc, schema.get("allOf").get(0), random, depth);
        }
        if (depth > 4) {
            type = List.of("string", "integer", "boolean", "null").get(random.nextInt(4)); // leaves only: it ends
            schema = null;
        } else if (random.nextInt(12) == 0) {
            type = List.of("string", "integer", "boolean", "null", "array", "object").get(random.nextInt(6));
            schema = null;
        }
        switch (type) {
            case "object" -> {
                ObjectNode node = JSON.createObjectNode();
                if (schema != null) {
                    for (Iterator<Map.Entry<String, JsonNode>> it = schema.path("properties").fields(); it.hasNext();) {
                        Map.Entry<String, JsonNode> property = it.next();
                        if (random.nextInt(5) > 0) {
                            node.set(property.getKey(), value(doc, property.getValue(), random, depth + 1));
                        }
                    }
                    if (schema.has("additionalProperties") && random.nextBoolean()) {
                        for (int i = random.nextInt(20); i > 0; i--) {
                            node.set(sample(STRINGS, random), value(doc, schema.get("additionalProperties"),
                                    random, depth + 1));
                        }
                    }
                }
                if (random.nextInt(4) == 0) {
                    node.put(sample(STRINGS, random), sample(STRINGS, random));
                }
                return node;
            }
            case "array" -> {
                ArrayNode node = JSON.createArrayNode();
                int size = depth <= 1 && random.nextInt(10) == 0 ? 500 : random.nextInt(5);
                for (int i = 0; i < size; i++) {
                    node.add(value(doc, schema == null ? null : schema.get("items"), random, depth + 1));
                }
                return node;
            }
            case "integer", "number" -> {
                return JSON.getNodeFactory().numberNode(sample(NUMBERS, random));
            }
            case "boolean" -> {
                return JSON.getNodeFactory().booleanNode(random.nextBoolean());
            }
            case "null" -> {
                return JSON.getNodeFactory().nullNode();
            }
            default -> {
                if (schema != null && schema.has("enum") && random.nextBoolean()) {
                    JsonNode values = schema.get("enum");
                    return values.get(random.nextInt(values.size()));
                }
                return JSON.getNodeFactory().textNode(sample(STRINGS, random));
            }
        }
    }

    private static String known(String name) {
        return switch (name) {
            case "poolId" -> "fuzz";
            case "sessionId", "desktopId" -> "00000000-0000-4000-8000-000000000000";
            default -> "fuzz";
        };
    }

    private static <T> T sample(Arbitrary<T> arbitrary, Random random) {
        return arbitrary.generator(100).next(random).value();
    }

    /**
     * Percent-encoded, at most about 1000 characters: request lines over 4096 bytes are refused by Vert.x itself with
     * a bare 414 before any broker code runs (documented in security.md), so longer ones test nothing of ours.
     */
    private static String urlPart(String value) {
        String encoded = URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
        while (encoded.length() > 1000) {
            value = value.substring(0, value.length() / 2);
            encoded = URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
        }
        return encoded.isEmpty() ? "x" : encoded;
    }

    private static String abbreviate(String text) {
        return text.length() > 300 ? text.substring(0, 300) + "..." : text;
    }

}
