package org.vdibroker.access;

import java.time.Instant;
import java.util.Map;

/** Connection details with a fresh one-time ticket, and links to the same as files. */
public record ConnectionRepresentation(String protocol, String host, int port, String ticket, Instant expiresAt,
        Map<String, String> files,
        /** A link the client opens (vmrc://clone:...); only for protocols that have one. */
        @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
        String url) {
}
