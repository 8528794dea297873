package org.vdibroker.ops;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import org.vdibroker.session.SessionStatus;
import org.vdibroker.session.SessionStore;

/** Publishes {@code vdi.sessions{state}}: sessions by state. */
@Singleton
public class SessionMetrics {

    @Inject
    SessionStore sessions;

    @Inject
    MeterRegistry meters;

    void register(@Observes StartupEvent event) {
        for (SessionStatus status : SessionStatus.values()) {
            Gauge.builder("vdi.sessions", () -> sessions.countIn(status)).tag("state", status.name())
                    .description("sessions by state").register(meters);
        }
    }
}
