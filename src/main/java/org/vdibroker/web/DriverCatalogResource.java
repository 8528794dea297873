package org.vdibroker.web;

import jakarta.annotation.security.RolesAllowed;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.util.Comparator;
import java.util.List;
import java.util.stream.StreamSupport;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HypervisorDriverFactory;
import org.vdibroker.security.Roles;

/** The hypervisor drivers this broker has and the properties each declares: the console builds its forms from it. */
@Path("/api/v1/admin/drivers")
@RolesAllowed(Roles.ADMIN)
@Produces(MediaType.APPLICATION_JSON)
public class DriverCatalogResource {

    @Inject
    Instance<HypervisorDriverFactory> factories;

    /** One driver type and its declared properties. */
    public record DriverType(String id, List<DriverProperty> properties) {
    }

    @GET
    public List<DriverType> list() {
        return StreamSupport.stream(factories.spliterator(), false)
                .map(f -> new DriverType(f.id(), f.properties()))
                .sorted(Comparator.comparing(DriverType::id)).toList();
    }
}
