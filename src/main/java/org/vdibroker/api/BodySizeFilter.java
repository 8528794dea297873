package org.vdibroker.api;

import jakarta.inject.Inject;
import jakarta.inject.Provider;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import org.vdibroker.BrokerConfig;

/** Refuses bodies over {@code broker.requests.max-body-bytes} with 413 problem+json before they are read. */
public class BodySizeFilter {

    // a provider: filters are created before run-time configuration mappings exist
    @Inject
    Provider<BrokerConfig> configs;

    @ServerRequestFilter(preMatching = true)
    public Response limit(ContainerRequestContext context) {
        BrokerConfig config = configs.get();
        String length = context.getHeaderString(HttpHeaders.CONTENT_LENGTH);
        boolean tooLarge;
        try {
            tooLarge = length != null && Long.parseLong(length.trim()) > config.requests().maxBodyBytes();
        } catch (NumberFormatException e) {
            throw ProblemException.invalid("Content-Length is not a number");
        }
        if (tooLarge) {
            return Problem.of(413, "payload-too-large", "Payload too large",
                    "the body is larger than " + config.requests().maxBodyBytes() + " bytes").toResponse();
        }
        return null; // go on
    }
}
