package org.vdibroker.hypervisor.hyperv;

import io.cloudsoft.winrm4j.client.WinRmClient;
import io.cloudsoft.winrm4j.client.WinRmClientContext;
import io.cloudsoft.winrm4j.winrm.WinRmTool;
import io.cloudsoft.winrm4j.winrm.WinRmToolResponse;
import java.time.Duration;
import org.apache.http.client.config.AuthSchemes;
import org.jboss.logging.Logger;

/**
 * PowerShell over WinRM with winrm4j: each script is one WS-Management shell (Create, Command, Receive, Signal,
 * Delete), sent as {@code powershell -encodedcommand}. winrm4j blocks, so this runs on the driver's worker threads
 * only. A host that refuses the credentials (its session expired, a Kerberos ticket aged out) gets one more try with
 * a fresh authentication before the refusal counts.
 */
final class WinRmPowerShell implements PowerShell {

    private static final Logger LOG = Logger.getLogger(WinRmPowerShell.class);
    /** How long one WS-Management Receive may wait on the host before it answers "still running". */
    private static final long OPERATION_TIMEOUT_MS = 20_000;

    private final String hypervisorId;
    private final HyperVSettings settings;
    /** One CXF bus for all of this host's calls: creating one per call is slow. */
    private final WinRmClientContext context = WinRmClientContext.newInstance();

    WinRmPowerShell(String hypervisorId, HyperVSettings settings) {
        this.hypervisorId = hypervisorId;
        this.settings = settings;
    }

    @Override
    public Output run(String script, Duration timeout) {
        try {
            return once(script, timeout, false);
        } catch (RuntimeException e) {
            if (!HyperVErrors.authenticationRefused(e)) {
                throw e;
            }
            LOG.infof("Hyper-V host %s refused the session; authenticating again", hypervisorId);
            return once(script, timeout, true);
        }
    }

    /** Builds (and drops) one client: CXF reads winrm4j's WSDL the first time, which takes seconds. */
    @Override
    public void warmUp() {
        try (WinRmClient client = WinRmClient.builder(settings.url()).authenticationScheme(scheme())
                .credentials(settings.domain(), settings.username(), "").context(context).build()) {
            LOG.debugf("WinRM client for Hyper-V host %s ready", hypervisorId);
        } catch (RuntimeException e) {
            LOG.debugf("WinRM client for Hyper-V host %s not prepared: %s", hypervisorId, e.getMessage());
        }
    }

    private Output once(String script, Duration timeout, boolean freshAuthentication) {
        WinRmTool tool = WinRmTool.Builder.builder(settings.url(), settings.domain(), settings.username(),
                        settings.password() == null ? "" : settings.password())
                .authenticationScheme(scheme())
                .disableCertificateChecks(settings.insecureTls())
                .requestNewKerberosTicket(freshAuthentication)
                .context(context)
                .build();
        long total = Math.max(1_000, timeout.toMillis());
        long operation = Math.min(OPERATION_TIMEOUT_MS, total);
        tool.setOperationTimeout(operation);
        tool.setConnectionTimeout(Math.min(total, 10_000));
        tool.setReceiveTimeout(operation + 10_000);
        tool.alwaysRetryReceiveAfterOperationTimeout();
        tool.setRetriesForConnectionFailures(0); // the driver decides about retries, without winrm4j's 5 s pauses
        WinRmToolResponse response = tool.executePs(script);
        return new Output(response.getStatusCode(), response.getStdOut(), response.getStdErr());
    }

    private String scheme() {
        return switch (settings.authScheme()) {
            case "basic" -> AuthSchemes.BASIC;
            case "kerberos" -> AuthSchemes.KERBEROS;
            default -> AuthSchemes.NTLM;
        };
    }

    @Override
    public void close() {
        context.shutdown();
    }
}
