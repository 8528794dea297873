package org.vdibroker.web;

import jakarta.annotation.security.PermitAll;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The browser pages: the user portal ({@code /}), kiosk mode ({@code /kiosk}) and the admin console
 * ({@code /admin}). Each page is a static shell open to anyone: it signs in through Keycloak in the browser and every
 * datum on it comes from the API, which checks the caller's token and role. Security headers: {@link SecurityHeaders}.
 */
@Path("/")
@PermitAll
@Produces(MediaType.TEXT_HTML)
public class PortalPages {

    private final Map<String, String> pages = new ConcurrentHashMap<>();

    @GET
    public Response portal() {
        return page("portal.html");
    }

    @GET
    @Path("kiosk")
    public Response kiosk() {
        return page("kiosk.html");
    }

    @GET
    @Path("admin")
    public Response admin() {
        return page("admin.html");
    }

    private Response page(String name) {
        String html = pages.computeIfAbsent(name, PortalPages::load);
        return Response.ok(html, MediaType.TEXT_HTML_TYPE.withCharset("UTF-8")).header("Cache-Control", "no-store")
                .build();
    }

    private static String load(String name) {
        try (InputStream in = PortalPages.class.getResourceAsStream("/web/" + name)) {
            if (in == null) {
                throw new IllegalStateException("page " + name + " is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
