package org.vdibroker.admin;

import jakarta.annotation.security.RolesAllowed;
import jakarta.inject.Inject;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.ConstraintViolationException;
import jakarta.validation.Valid;
import jakarta.validation.Validator;
import jakarta.validation.constraints.NotNull;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import org.vdibroker.access.AccessIds;
import org.vdibroker.desktop.DesktopService;
import org.vdibroker.pool.PoolCatalog;
import org.vdibroker.pool.PoolRepresentation;
import org.vdibroker.pool.PoolService;
import org.vdibroker.pool.PublishRequest;
import org.vdibroker.security.Caller;
import org.vdibroker.security.Roles;

/** Admin API for pools and their desktops. */
@Path("/api/v1/admin/pools")
@RolesAllowed(Roles.ADMIN)
@Produces(MediaType.APPLICATION_JSON)
public class PoolResource {

    @Inject
    PoolCatalog catalog;

    @Inject
    PoolService pools;

    @Inject
    DesktopService desktops;

    @Inject
    Caller caller;

    @Inject
    org.vdibroker.pool.ProvisionProblems provisionProblems;

    @Inject
    org.vdibroker.session.SessionStore sessionStore;

    @Inject
    Validator validator;

    @Inject
    org.vdibroker.pool.PoolTrends trends;

    @Inject
    org.vdibroker.session.TimeToDesktop timeToDesktop;

    @Inject
    org.vdibroker.BrokerConfig config;

    @Inject
    org.infinispan.manager.EmbeddedCacheManager cacheManager;

    @Inject
    com.fasterxml.jackson.databind.ObjectMapper json;

    @GET
    public List<PoolRepresentation> list() {
        return pools.list();
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(@NotNull @Valid PoolRepresentation body) {
        PoolRepresentation created = pools.create(body, caller.user());
        return Response.created(URI.create("/api/v1/admin/pools/" + created.id())).entity(created).build();
    }

    @GET
    @Path("/{id}")
    public PoolRepresentation get(@PathParam("id") String id) {
        return pools.get(AccessIds.name("Pool", id));
    }

    @PUT
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_JSON)
    public PoolRepresentation update(@PathParam("id") String id, @NotNull @Valid PoolRepresentation body) {
        return pools.update(AccessIds.name("Pool", id), body, caller.user());
    }

    @DELETE
    @Path("/{id}")
    public Response delete(@PathParam("id") String id) {
        pools.delete(AccessIds.name("Pool", id), caller.user());
        return Response.noContent().build();
    }

    /**
     * A new publication of the pool's templates (all, or those listed); desktops roll onto it: ready ones are
     * replaced a batch at a time, those in use after their users log off. The body is optional.
     */
    @POST
    @Path("/{id}/publish")
    public PoolRepresentation publish(@PathParam("id") String id, String rawBody)
            throws com.fasterxml.jackson.core.JsonProcessingException {
        // read here rather than by content type, so that a bare POST (no body) publishes every template
        PublishRequest body = rawBody == null || rawBody.isBlank() ? null
                : json.readValue(rawBody, PublishRequest.class);
        if (body != null) {
            Set<ConstraintViolation<PublishRequest>> violations = validator.validate(body);
            if (!violations.isEmpty()) {
                throw new ConstraintViolationException(violations);
            }
        }
        return pools.publish(AccessIds.name("Pool", id), body, caller.user());
    }

    /** Whether the pool can provision desktops now and, if not, why; its desktops by state and its queue. */
    @GET
    @Path("/{id}/status")
    public org.vdibroker.pool.PoolStatus status(@PathParam("id") String id) {
        String poolId = AccessIds.name("Pool", id);
        if (catalog.get(poolId).isEmpty()) {
            pools.get(poolId); // 404 for an unknown pool
        }
        java.util.Optional<org.vdibroker.pool.ProvisionProblem> problem = provisionProblems.of(poolId);
        return new org.vdibroker.pool.PoolStatus(poolId, problem.isPresent() ? "blocked" : "ok", problem.orElse(null),
                desktops.countsByStatus(poolId), sessionStore.queueLength(poolId), provisioningSeconds(poolId));
    }

    /** The measured provisioning time, to a tenth of a second; null before any desktop of the pool became ready. */
    private Double provisioningSeconds(String poolId) {
        java.util.OptionalDouble seconds = desktops.provisioningSeconds(poolId);
        return seconds.isPresent() ? Math.round(seconds.getAsDouble() * 10) / 10.0 : null;
    }

    /**
     * The pool over the last {@code minutes} (default 60) as this node sampled it, for the console's charts: ready
     * spares against the spare target, queue depth, and the time each user waited for a desktop.
     */
    @GET
    @Path("/{id}/trends")
    public PoolTrendsRepresentation trends(@PathParam("id") String id,
            @jakarta.ws.rs.QueryParam("minutes") @jakarta.ws.rs.DefaultValue("60") int minutes) {
        String poolId = AccessIds.name("Pool", id);
        long kept = Math.max(1, config.charts().history().toMinutes());
        if (minutes < 1 || minutes > kept) {
            throw org.vdibroker.api.ProblemException.invalid("minutes must be between 1 and " + kept
                    + " (broker.charts.history)");
        }
        if (catalog.get(poolId).isEmpty()) {
            pools.get(poolId); // 404 for an unknown pool
        }
        java.time.Instant since = java.time.Instant.now().minus(java.time.Duration.ofMinutes(minutes));
        String node = cacheManager.getAddress() == null ? "local" : cacheManager.getAddress().toString();
        return new PoolTrendsRepresentation(poolId, node, config.charts().sampleInterval().toSeconds(),
                trends.since(poolId, since), timeToDesktop.since(poolId, since));
    }

    @GET
    @Path("/{id}/desktops")
    public List<DesktopRepresentation> desktops(@PathParam("id") String id) {
        String poolId = AccessIds.name("Pool", id);
        if (catalog.get(poolId).isEmpty()) {
            pools.get(poolId); // 404 for an unknown pool; pools the node knows are listed also with the database down
        }
        return desktops.ofPool(id).stream().map(DesktopRepresentation::of)
                .sorted(Comparator.comparing(DesktopRepresentation::name)).toList();
    }
}
