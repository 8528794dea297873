package org.vdibroker.access.login;

import io.vertx.core.http.HttpServerRequest;
import jakarta.annotation.security.PermitAll;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * {@code POST /api/v1/login} and {@code POST /api/v1/login/refresh} for thin clients (no authentication): the broker
 * performs Keycloak's password or refresh grant and returns Keycloak's token response. JSON or form bodies.
 */
// blocking: the attempt limits are cache operations (remote in a cluster); the identity provider's answer comes
// back without holding a thread
@io.smallrye.common.annotation.Blocking
@Path("/api/v1/login")
@PermitAll
public class LoginResource {

    @Inject
    LoginService login;

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces({ MediaType.APPLICATION_JSON, "application/problem+json" })
    public CompletionStage<Response> login(LoginRequest body, @Context HttpServerRequest request) {
        return body == null ? login.login(null, null, address(request))
                : login.login(body.username(), body.password(), address(request));
    }

    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Produces({ MediaType.APPLICATION_JSON, "application/problem+json" })
    public CompletionStage<Response> loginForm(String rawBody, @Context HttpServerRequest request) {
        Map<String, String> form = FormBody.parse(rawBody);
        return login.login(form.get("username"), form.get("password"), address(request));
    }

    @POST
    @Path("/refresh")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces({ MediaType.APPLICATION_JSON, "application/problem+json" })
    public CompletionStage<Response> refresh(RefreshRequest body, @Context HttpServerRequest request) {
        return login.refresh(body == null ? null : body.refreshToken(), address(request));
    }

    @POST
    @Path("/refresh")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    @Produces({ MediaType.APPLICATION_JSON, "application/problem+json" })
    public CompletionStage<Response> refreshForm(String rawBody, @Context HttpServerRequest request) {
        return login.refresh(FormBody.parse(rawBody).get("refresh_token"), address(request));
    }

    /** The client's address as Vert.x sees it (the forwarded one only where proxy address forwarding is enabled). */
    private static String address(HttpServerRequest request) {
        return request.remoteAddress() == null ? "unknown" : request.remoteAddress().hostAddress();
    }
}
