package org.vdibroker.security;

import static org.vdibroker.testsupport.Management.management;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Every operation of the broker's API, read from its own OpenAPI document at run time: the authorization matrix and
 * the fuzzer cover a new endpoint without being edited.
 */
record ApiOperations(JsonNode document, List<Operation> operations) {

    /** Who may call a path, decided by its prefix (the API's documented layout, see API.md). */
    enum Audience {
        PUBLIC, USER, ADMIN, AGENT, GATEWAY;

        static Audience of(String path) {
            if (path.startsWith("/api/v1/admin/")) {
                return ADMIN;
            }
            if (path.startsWith("/api/v1/me/") || path.equals("/api/v1/me")) {
                return USER;
            }
            if (path.startsWith("/api/v1/agent/")) {
                return AGENT;
            }
            if (path.startsWith("/api/v1/gateway/")) {
                return GATEWAY;
            }
            if (path.startsWith("/api/v1/login")) {
                return PUBLIC;
            }
            // the browser console: a user's own sessions, like /api/v1/me/...
            if (path.startsWith("/api/v1/console/")) {
                return USER;
            }
            // the portal, kiosk and console pages are shells without data: the API calls they make check the roles
            if (!path.startsWith("/api/")) {
                return PUBLIC;
            }
            // anything else under /api must be classified here deliberately; until then it counts as admin-only
            return ADMIN;
        }
    }

    record Parameter(String name, String in, JsonNode schema) {
    }

    record Operation(String method, String path, List<Parameter> parameters, JsonNode bodySchema,
            String bodyMediaType, List<String> bodyMediaTypes, boolean streams) {

        Audience audience() {
            return Audience.of(path);
        }

        List<Parameter> pathParameters() {
            return parameters.stream().filter(p -> p.in().equals("path")).toList();
        }

        List<Parameter> queryParameters() {
            return parameters.stream().filter(p -> p.in().equals("query")).toList();
        }

        @Override
        public String toString() {
            return method.toUpperCase() + " " + path;
        }
    }

    static ApiOperations load() {
        try {
            String json = management().accept("application/json").get("/q/openapi?format=json").then().statusCode(200)
                    .extract().asString();
            return parse(new ObjectMapper().readTree(json));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static ApiOperations parse(JsonNode doc) {
        List<Operation> operations = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = doc.path("paths").fields(); paths.hasNext();) {
            Map.Entry<String, JsonNode> path = paths.next();
            List<Parameter> shared = parameters(doc, path.getValue().path("parameters"));
            for (Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields(); ops.hasNext();) {
                Map.Entry<String, JsonNode> op = ops.next();
                if (!List.of("get", "put", "post", "delete", "patch").contains(op.getKey())) {
                    continue;
                }
                List<Parameter> params = new ArrayList<>(shared);
                params.addAll(parameters(doc, op.getValue().path("parameters")));
                JsonNode content = op.getValue().path("requestBody").path("content");
                String mediaType = content.fieldNames().hasNext() ? content.fieldNames().next() : null;
                JsonNode body = mediaType == null ? null : resolve(doc, content.path(mediaType).path("schema"));
                boolean streams = op.getValue().path("responses").toString().contains("text/event-stream");
                List<String> mediaTypes = new ArrayList<>();
                content.fieldNames().forEachRemaining(mediaTypes::add);
                operations.add(new Operation(op.getKey(), path.getKey(), params, body, mediaType, mediaTypes,
                        streams));
            }
        }
        return new ApiOperations(doc, operations);
    }

    private static List<Parameter> parameters(JsonNode doc, JsonNode list) {
        List<Parameter> result = new ArrayList<>();
        list.forEach(p -> {
            JsonNode param = resolve(doc, p);
            result.add(new Parameter(param.path("name").asText(), param.path("in").asText(),
                    resolve(doc, param.path("schema"))));
        });
        return result;
    }

    /** Follows a local {@code $ref} ({@code #/components/schemas/X}). */
    static JsonNode resolve(JsonNode doc, JsonNode node) {
        while (node != null && node.has("$ref")) {
            String ref = node.get("$ref").asText();
            node = doc.at(ref.substring(1));
        }
        return node;
    }
}
