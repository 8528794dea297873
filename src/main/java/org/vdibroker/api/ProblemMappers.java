package org.vdibroker.api;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import io.quarkus.security.AuthenticationFailedException;
import io.quarkus.security.ForbiddenException;
import io.quarkus.security.UnauthorizedException;
import jakarta.validation.ConstraintViolationException;
import jakarta.ws.rs.NotAllowedException;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.NotSupportedException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;
import org.hibernate.exception.JDBCConnectionException;
import org.infinispan.partitionhandling.AvailabilityException;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Every error leaves as problem+json with the right status; nothing internal (no stack trace) reaches a client. */
public class ProblemMappers {

    private static final Logger LOG = Logger.getLogger(ProblemMappers.class);

    @ServerExceptionMapper
    public Response problem(ProblemException e) {
        return e.problem().toResponse();
    }

    @ServerExceptionMapper({ AuthenticationFailedException.class, UnauthorizedException.class })
    public Response unauthorized(RuntimeException e) {
        return Response.fromResponse(Problem.of(401, "unauthorized", "Unauthorized",
                "a valid bearer token from the identity provider is required").toResponse())
                .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer").build();
    }

    @ServerExceptionMapper
    public Response forbidden(ForbiddenException e) {
        return Problem.of(403, "forbidden", "Forbidden", "your roles do not allow this").toResponse();
    }

    @ServerExceptionMapper
    public Response invalid(ConstraintViolationException e) {
        Map<String, Object> errors = new LinkedHashMap<>();
        e.getConstraintViolations().forEach(v -> errors.put(leaf(v.getPropertyPath().toString()), v.getMessage()));
        return new Problem(Problem.of(400, "invalid-request", "", "").type(), "Invalid request", 400,
                "the request has invalid fields", errors).toResponse();
    }

    @ServerExceptionMapper({ JsonProcessingException.class, MismatchedInputException.class, JsonParseException.class,
            JsonMappingException.class, InvalidFormatException.class })
    public Response malformed(JsonProcessingException e) {
        // say where, not what the parser thought: its messages name internal classes
        String where = e.getLocation() == null ? ""
                : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
        return Problem.of(400, "malformed-json", "Malformed JSON",
                "the body is not valid JSON of the expected shape" + where).toResponse();
    }

    @ServerExceptionMapper
    public Response notFound(NotFoundException e) {
        return Problem.of(404, "not-found", "Not found", "no such resource").toResponse();
    }

    @ServerExceptionMapper
    public Response notAllowed(NotAllowedException e) {
        return Response.fromResponse(Problem.of(405, "method-not-allowed", "Method not allowed",
                "this resource does not support that method").toResponse())
                .allow(e.getResponse().getAllowedMethods()).build();
    }

    @ServerExceptionMapper
    public Response unsupported(NotSupportedException e) {
        return Problem.of(415, "unsupported-media-type", "Unsupported media type", "send application/json")
                .toResponse();
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e) {
        int status = e.getResponse().getStatus();
        if (e.getResponse().getEntity() instanceof Problem) {
            return e.getResponse(); // already a problem document (with its own headers, e.g. Retry-After)
        }
        if (e.getCause() instanceof JsonProcessingException json) {
            return malformed(json);
        }
        if (status >= 500) {
            LOG.error("Request failed", e);
            return Problem.of(status, "internal", "Internal error", "the broker could not complete the request")
                    .toResponse();
        }
        return Problem.of(status, "http-" + status, Response.Status.fromStatusCode(status) == null ? "Error"
                : Response.Status.fromStatusCode(status).getReasonPhrase(), "the request was refused").toResponse();
    }

    /** This node is in a minority partition: it refuses writes so no desktop gets two owners; try another node. */
    @ServerExceptionMapper
    public Response unavailable(AvailabilityException e) {
        return Response.fromResponse(Problem.of(503, "cluster-unavailable", "Cluster unavailable",
                "this broker node cannot reach enough of its cluster; retry, another node may serve you")
                .toResponse()).header(HttpHeaders.RETRY_AFTER, "2").build();
    }

    /** The database does not answer (brokering goes on from the cluster's state; admin changes must wait). */
    @ServerExceptionMapper
    public Response databaseUnavailable(JDBCConnectionException e) {
        LOG.warnf("Request needs the database, which does not answer: %s", e.getMessage());
        return Response.fromResponse(Problem.of(503, "database-unavailable", "Database unavailable",
                "the broker's database does not answer; retry later").toResponse())
                .header(HttpHeaders.RETRY_AFTER, "10").build();
    }

    @ServerExceptionMapper
    public Response unexpected(RuntimeException e) {
        LOG.error("Request failed", e);
        return Problem.of(500, "internal", "Internal error", "the broker could not complete the request")
                .toResponse();
    }

    private static String leaf(String path) {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? path : path.substring(dot + 1);
    }
}
