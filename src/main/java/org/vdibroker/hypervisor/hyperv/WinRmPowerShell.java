package org.vdibroker.hypervisor.hyperv;

import io.cloudsoft.winrm4j.client.ShellCommand;
import io.cloudsoft.winrm4j.client.WinRmClient;
import io.cloudsoft.winrm4j.client.WinRmClientBuilder;
import io.cloudsoft.winrm4j.client.WinRmClientContext;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.http.client.config.AuthSchemes;
import org.jboss.logging.Logger;

/**
 * PowerShell over WinRM with winrm4j: each script is one WS-Management shell (Create, Command, Receive, Signal,
 * Delete), sent as {@code powershell -encodedcommand}. winrm4j blocks, so this runs on the driver's worker threads
 * only.
 * <p>
 * Building a winrm4j client is slow (a CXF proxy from winrm4j's WSDL and an HTTP client with its own I/O threads), so
 * this host's clients are kept and reused. One client serves one call at a time: with NTLM, winrm4j keeps the
 * message-sealing keys and sequence numbers in the client's credentials, which concurrent connections would
 * overwrite. So there is a small pool, at most one client per worker thread of the driver, closed with the driver.
 * A client whose call failed is dropped, not reused. A host that refuses the credentials (its session expired, a
 * Kerberos ticket aged out) makes every kept client suspect: they are all dropped, and the call gets one more try with
 * a new client that authenticates afresh before the refusal counts.
 */
final class WinRmPowerShell implements PowerShell {

    private static final Logger LOG = Logger.getLogger(WinRmPowerShell.class);
    /** How long one WS-Management Receive may wait on the host before it answers "still running". */
    private static final long OPERATION_TIMEOUT_MS = 20_000;

    private final String hypervisorId;
    private final HyperVSettings settings;
    /** One CXF bus for all of this host's clients. */
    private final WinRmClientContext context = WinRmClientContext.newInstance();
    /** Clients not in use; at most one per worker thread of the driver. */
    private final BlockingQueue<WinRmClient> idle;
    private final AtomicInteger built = new AtomicInteger();
    private final Object building = new Object();
    private volatile boolean closed;

    WinRmPowerShell(String hypervisorId, HyperVSettings settings) {
        this.hypervisorId = hypervisorId;
        this.settings = settings;
        this.idle = new ArrayBlockingQueue<>(Math.max(1, settings.concurrency()));
    }

    /**
     * Runs {@code script} on a kept client. The client's socket timeouts follow the call timeout (a long operation
     * polls with repeated Receives); the driver bounds the whole call by {@code timeout} itself.
     */
    @Override
    public Output run(String script, Duration timeout) {
        try {
            return once(script, false);
        } catch (RuntimeException e) {
            if (!HyperVErrors.authenticationRefused(e) || closed) {
                throw e;
            }
            LOG.infof("Hyper-V host %s refused the session; authenticating again", hypervisorId);
            dropIdle();
            return once(script, true);
        }
    }

    /** Builds the first client ahead of any call: CXF reads winrm4j's WSDL the first time, which takes seconds. */
    @Override
    public void warmUp() {
        try {
            release(kept());
            LOG.debugf("WinRM client for Hyper-V host %s ready", hypervisorId);
        } catch (RuntimeException e) {
            LOG.debugf("WinRM client for Hyper-V host %s not prepared: %s", hypervisorId, e.getMessage());
        }
    }

    private Output once(String script, boolean freshAuthentication) {
        if (closed) {
            throw new IllegalStateException("the driver of Hyper-V host " + hypervisorId + " is closed");
        }
        WinRmClient client = freshAuthentication ? null : idle.poll();
        if (client == null) {
            client = freshAuthentication ? build(true) : kept();
        }
        Output output;
        try {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int exitCode;
            try (ShellCommand shell = client.createShell()) {
                exitCode = shell.execute(command(script), out, err);
            }
            output = new Output(exitCode, out.toString(), err.toString());
        } catch (RuntimeException | Error e) {
            quietlyClose(client); // its connection or authentication state is unknown now
            throw e;
        }
        release(client);
        return output;
    }

    /**
     * A kept client, or a new one. Clients are built one at a time: the first build of a JVM takes seconds, and calls
     * that start together would otherwise all pay for it at once; a call that waited here takes a client another
     * call released meanwhile.
     */
    private WinRmClient kept() {
        synchronized (building) {
            WinRmClient client = idle.poll();
            return client != null ? client : build(false);
        }
    }

    /** What winrm4j's own {@code executePs} sends: the script as base64 of UTF-16LE, which PowerShell decodes. */
    static String command(String script) {
        return "powershell -encodedcommand "
                + Base64.getEncoder().encodeToString(script.getBytes(StandardCharsets.UTF_16LE));
    }

    private WinRmClient build(boolean freshAuthentication) {
        long call = Math.max(1_000, settings.callTimeout().toMillis());
        long operation = Math.min(OPERATION_TIMEOUT_MS, call);
        WinRmClientBuilder builder = WinRmClient.builder(settings.url())
                .authenticationScheme(scheme())
                .credentials(settings.domain(), settings.username(),
                        settings.password() == null ? "" : settings.password())
                .disableCertificateChecks(settings.insecureTls())
                .requestNewKerberosTicket(freshAuthentication)
                .operationTimeout(operation)
                .connectionTimeout(Math.min(call, 10_000))
                .receiveTimeout(operation + 10_000)
                .retryReceiveAfterOperationTimeout(WinRmClientBuilder.alwaysRetryReceiveAfterOperationTimeout())
                // the driver decides about retries, without winrm4j's 5 s pauses
                .failureRetryPolicy(WinRmClientBuilder.simpleCounterRetryPolicy(0))
                .context(context);
        WinRmClient client = builder.build();
        built.incrementAndGet();
        return client;
    }

    /** Keeps a client for the next call, unless the pool is full or this host's driver closed meanwhile. */
    private void release(WinRmClient client) {
        if (closed || !idle.offer(client)) {
            quietlyClose(client);
        } else if (closed && idle.remove(client)) {
            quietlyClose(client); // close() ran between the check and the offer
        }
    }

    private void dropIdle() {
        List<WinRmClient> stale = new ArrayList<>();
        idle.drainTo(stale);
        stale.forEach(this::quietlyClose);
    }

    private void quietlyClose(WinRmClient client) {
        try {
            client.close();
        } catch (RuntimeException e) {
            LOG.debugf("Closing a WinRM client of Hyper-V host %s: %s", hypervisorId, e.getMessage());
        }
    }

    /** How many clients this host has built: tests check that calls reuse them. */
    int clientsBuilt() {
        return built.get();
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
        if (closed) {
            return;
        }
        closed = true;
        dropIdle();
        context.shutdown();
    }
}
