package org.vdibroker.api;

import jakarta.inject.Inject;
import jakarta.inject.Provider;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ReaderInterceptor;
import jakarta.ws.rs.ext.ReaderInterceptorContext;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;
import org.vdibroker.BrokerConfig;

/**
 * Refuses bodies over {@code broker.requests.max-body-bytes} with 413 problem+json. A declared Content-Length is
 * checked before anything is read; a chunked body (no Content-Length) is counted as it is read into an entity. The
 * HTTP layer's own cap ({@code quarkus.http.limits.max-body-size}) stops chunked bodies far past the limit earlier,
 * with a bare 413.
 */
@jakarta.ws.rs.ext.Provider
public class BodySizeFilter implements ReaderInterceptor {

    // a provider: filters are created before run-time configuration mappings exist
    @Inject
    Provider<BrokerConfig> configs;

    /** The limit, read once: the mapping is a dependent bean, so each {@code configs.get()} built a new one. */
    private volatile long maxBodyBytes = -1;

    @ServerRequestFilter(preMatching = true)
    public Response limit(ContainerRequestContext context) {
        long max = maxBodyBytes();
        String length = context.getHeaderString(HttpHeaders.CONTENT_LENGTH);
        boolean tooLarge;
        try {
            tooLarge = length != null && Long.parseLong(length.trim()) > max;
        } catch (NumberFormatException e) {
            throw ProblemException.invalid("Content-Length is not a number");
        }
        return tooLarge ? tooLarge(max).toResponse() : null; // null: go on
    }

    /**
     * Reads a chunked body up to one byte past the limit, so one over it is refused before it is parsed. A body with
     * a Content-Length is read as it comes: {@link #limit} checked the length, and HTTP's framing ends the body there
     * (buffering it cost every desktop request an 8 KB array, 2.6 % of what a node allocates per assignment).
     */
    @Override
    public Object aroundReadFrom(ReaderInterceptorContext context) throws IOException {
        if (context.getHeaders().getFirst(HttpHeaders.CONTENT_LENGTH) != null
                && context.getHeaders().getFirst("Transfer-Encoding") == null) {
            return context.proceed();
        }
        long max = maxBodyBytes();
        byte[] body = context.getInputStream().readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
        if (body.length > max) {
            Problem problem = tooLarge(max);
            throw new ProblemException(problem.status(), "payload-too-large", problem.title(), problem.detail());
        }
        context.setInputStream(new ByteArrayInputStream(body));
        return context.proceed();
    }

    private long maxBodyBytes() {
        long max = maxBodyBytes;
        if (max < 0) {
            max = configs.get().requests().maxBodyBytes();
            maxBodyBytes = max;
        }
        return max;
    }

    private static Problem tooLarge(long max) {
        return Problem.of(413, "payload-too-large", "Payload too large", "the body is larger than " + max + " bytes");
    }
}
