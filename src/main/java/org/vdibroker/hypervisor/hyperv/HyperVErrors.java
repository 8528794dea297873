package org.vdibroker.hypervisor.hyperv;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.vdibroker.hypervisor.HypervisorException;

/**
 * Turns what the Hyper-V host or the way to it answered into {@link HypervisorException}s: silence (refused or
 * timed-out connections) is {@code unreachable}; a WS-Management fault or an HTTP error is an answer, retryable;
 * a PowerShell error is retryable or final by its error category.
 */
final class HyperVErrors {

    /** PowerShell error categories that mean the request itself is wrong: trying again will not help. */
    private static final Set<String> FINAL = Set.of("ObjectNotFound", "InvalidArgument", "InvalidData", "InvalidType",
            "PermissionDenied", "SecurityError", "AuthenticationError", "ResourceExists", "NotImplemented",
            "NotInstalled", "NotEnabled", "OperationStopped", "ParserError", "SyntaxError", "MetadataError");

    private HyperVErrors() {
    }

    /** A failure of the call itself (no answer, refused credentials, a fault of the WinRM service). */
    static HypervisorException transport(String id, String what, Throwable failure) {
        Throwable e = unwrap(failure);
        if (e instanceof HypervisorException he) {
            return he;
        }
        if (silence(e)) {
            return HypervisorException.unreachable("Hyper-V host " + id + " did not answer to " + what + ": "
                    + rootMessage(e), e);
        }
        if (authenticationRefused(e)) {
            return new HypervisorException("Cannot " + what + " on Hyper-V host " + id
                    + ": the host refused the credentials (check username, password, auth and the account's rights)",
                    false, e);
        }
        return new HypervisorException("Cannot " + what + " on Hyper-V host " + id + ": the WinRM service answered "
                + rootMessage(e), true, e);
    }

    /** What a script reported with {@code {"error":...}}, or an exit code without it. */
    static HypervisorException script(String id, String what, PowerShell.Output output, JsonNode error) {
        if (error == null) {
            return new HypervisorException("Cannot " + what + " on Hyper-V host " + id + ": PowerShell exited with "
                    + output.exitCode() + redact(firstLine(output.stderr())), false);
        }
        String category = error.path("error").asText("NotSpecified");
        String message = error.path("message").asText("");
        return new HypervisorException("Cannot " + what + " on Hyper-V host " + id + ": " + redact(message) + " ("
                + category + ")", !FINAL.contains(category));
    }

    /** The host (or a proxy) answered 401 or the authentication handshake failed. */
    static boolean authenticationRefused(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String text = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (text.contains("401") || text.contains("unauthorized") || text.contains("invalid credentials")
                    || text.contains("authorization loop")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The host did not answer at all: no connection, no reply in time, or a connection closed before the request was
     * even sent (the async HTTP client's "Buffer already closed for writing" when it reuses a kept-alive connection
     * the host has closed, as when it stopped).
     */
    static boolean silence(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (t instanceof ConnectException || t instanceof NoRouteToHostException
                    || t instanceof UnknownHostException || t instanceof InterruptedIOException
                    || t instanceof TimeoutException || t instanceof SocketException && message.contains("reset")
                    || t instanceof IllegalStateException && message.contains("closed for writing")) {
                return true;
            }
        }
        return false;
    }

    static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    private static String firstLine(String text) {
        if (text == null || text.isBlank()) {
            return "";
        }
        String line = text.strip().lines().findFirst().orElse("");
        return ": " + (line.length() > 300 ? line.substring(0, 300) + "..." : line);
    }

    /**
     * A script's error may quote a line of the script, which may hold guest data such as the agent's secret: long
     * quoted values are masked (VM names, which errors quote too, are shorter).
     */
    static String redact(String text) {
        return text == null ? "" : text.replaceAll("'(?:[^']|''){20,}'", "'***'");
    }
}
