package org.vdibroker.protocol;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Clock;
import org.vdibroker.BrokerConfig;

/** Renders the files a client opens for a connection, with the pool's settings, and signs {@code .rdp} files. */
@ApplicationScoped
public class ConnectionFileService {

    @Inject
    BrokerConfig config;

    @Inject
    RdpSigning signing;

    Clock clock = Clock.systemUTC();

    public String rdp(Connection c, ConnectionSettings settings) {
        RdpFile file = ConnectionFiles.rdp(c, config.rdp().gatewayHost().orElse(null), settings);
        return signing.signer().map(s -> s.sign(file)).orElseGet(file::render);
    }

    public String vv(Connection c, ConnectionSettings settings) {
        return ConnectionFiles.vv(c, clock.instant(), settings);
    }
}
