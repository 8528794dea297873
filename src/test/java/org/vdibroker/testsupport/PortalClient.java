package org.vdibroker.testsupport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Lets the realm's {@code vdi-portal} client come back to a broker under test, which listens on a free port. */
public final class PortalClient {

    private static final ObjectMapper JSON = new ObjectMapper();

    private PortalClient() {
    }

    /** Adds {@code http://127.0.0.1:PORT/*} to the client's redirect URIs (web origins follow them: "+"). */
    public static void allowBrokerAt(int port) {
        try {
            JsonNode clients = JSON.readTree(KeycloakServer.admin("GET", "/clients?clientId=vdi-portal", null).body());
            ObjectNode client = (ObjectNode) clients.get(0);
            ArrayNode uris = (ArrayNode) client.get("redirectUris");
            String uri = "http://127.0.0.1:" + port + "/*";
            for (JsonNode u : uris) {
                if (u.asText().equals(uri)) {
                    return;
                }
            }
            uris.add(uri);
            KeycloakServer.AdminAnswer answer = KeycloakServer.admin("PUT", "/clients/" + client.get("id").asText(),
                    JSON.writeValueAsString(client));
            if (answer.status() != 204) {
                throw new IllegalStateException("could not update vdi-portal: " + answer.status() + " "
                        + answer.body());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
