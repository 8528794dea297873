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
        router.errorHandler(413, ctx -> {
            if (ctx.response().ended()) {
                return;
            }
            Problem problem = Problem.of(413, "payload-too-large", "Payload too large",
                    "the body is larger than this broker accepts");
            ctx.response().setStatusCode(413).putHeader("Content-Type", Problem.MEDIA_TYPE)
                    .end(Json.encode(problem));
        });
    }
}
