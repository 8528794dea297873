package org.vdibroker.api;

import io.vertx.core.json.Json;
import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * A body refused by the HTTP layer itself (a chunked body past the size limit, before any JAX-RS code runs) gets the
 * same 413 problem+json as one refused by {@link BodySizeFilter}.
 */
@ApplicationScoped
public class TooLargeProblem {

    void install(@Observes Router router) {
        // a failure handler ahead of Quarkus' own (which answers 413 with an empty body); the error handler covers
        // a 413 that reaches the router's end without any failure handler
        router.route().order(Integer.MIN_VALUE).failureHandler(ctx -> {
            if (ctx.statusCode() == 413 && !ctx.response().ended()) {
                answer(ctx);
            } else {
                ctx.next();
            }
        });
        router.errorHandler(413, ctx -> {
            if (!ctx.response().ended()) {
                answer(ctx);
            }
        });
    }

    private static void answer(io.vertx.ext.web.RoutingContext ctx) {
        Problem problem = Problem.of(413, "payload-too-large", "Payload too large",
                "the body is larger than this broker accepts");
        ctx.response().setStatusCode(413).putHeader("Content-Type", Problem.MEDIA_TYPE).end(Json.encode(problem));
    }
}
