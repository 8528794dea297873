package org.vdibroker.security;

import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import org.eclipse.microprofile.openapi.annotations.Operation;

/** Test-only endpoint without a security annotation: it must be refused to everyone (deny by default). */
@Path("/api/v1/test/unannotated")
public class UnannotatedProbeResource {

    @GET
    @Operation(hidden = true)
    public String open() {
        return "should never be served";
    }
}
