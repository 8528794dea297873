package org.vdibroker.hypervisor.libvirt;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** Console tickets that expire within seconds, so a test can see one refused after its expiry. */
public class ShortTicketsProfile implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("broker.tickets.lifetime", "3s");
    }
}
