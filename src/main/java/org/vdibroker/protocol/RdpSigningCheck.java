package org.vdibroker.protocol;

import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/** Says in readiness details whether .rdp files are signed, and with which certificate; never makes a node unready. */
@Readiness
public class RdpSigningCheck implements HealthCheck {

    @Inject
    RdpSigning signing;

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder b = HealthCheckResponse.named("rdp-signing").up();
        signing.signer().ifPresentOrElse(s -> b.withData("signed", true)
                .withData("subject", s.certificate().getSubjectX500Principal().getName())
                .withData("thumbprint-sha1", RdpSigning.thumbprint(s.certificate(), "SHA-1"))
                .withData("not-after", s.certificate().getNotAfter().toInstant().toString()),
                () -> b.withData("signed", false).withData("reason", "no certificate configured"));
        return b.build();
    }
}
