package org.vdibroker.hypervisor.xenserver;

import com.xensource.xenapi.Types;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.xmlrpc.XmlRpcException;
import org.vdibroker.hypervisor.HypervisorException;

/**
 * Turns XAPI failures into the broker's errors. Only silence (no connection, no answer in time, a session that
 * cannot be re-established) is unreachable; every error code XAPI answered with means the pool is there, and is
 * retryable when the same call may work later (busy, state changing, not enough memory right now) or final.
 */
final class XapiErrors {

    /** Codes after which the same request may succeed later. */
    static final Set<String> RETRYABLE = Set.of("VM_BAD_POWER_STATE", "OTHER_OPERATION_IN_PROGRESS",
            "HOST_NOT_ENOUGH_FREE_MEMORY", "NO_HOSTS_AVAILABLE", "TOO_BUSY", "HOST_OFFLINE", "HOST_IS_SLAVE",
            "HOST_STILL_BOOTING", "TOO_MANY_PENDING_TASKS", "OPERATION_BLOCKED", "TASK_CANCELLED", "SR_BACKEND_FAILURE",
            "VDI_IN_USE", "HOST_CANNOT_ATTACH_NETWORK", "VM_MIGRATE_FAILED");

    private XapiErrors() {
    }

    /** The error code, e.g. {@code VM_BAD_POWER_STATE}, of a XAPI failure; empty for other errors. */
    static String code(Throwable e) {
        if (e instanceof Types.XenAPIException x && x.errorDescription != null && x.errorDescription.length > 0) {
            return x.errorDescription[0];
        }
        if (e instanceof Types.XenAPIException && e.getClass() != Types.XenAPIException.class
                && e.getClass() != Types.BadServerResponse.class) {
            // the SDK turns known codes into classes and drops the code: OtherOperationInProgress is
            // OTHER_OPERATION_IN_PROGRESS
            return e.getClass().getSimpleName().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
        }
        return "";
    }

    static boolean retryable(List<String> errorInfo) {
        String code = errorInfo.isEmpty() ? "" : errorInfo.get(0);
        return RETRYABLE.contains(code) || code.startsWith("SR_BACKEND_FAILURE");
    }

    /** A failure of {@code what} on hypervisor {@code id} as the broker reports it; never carries credentials. */
    static HypervisorException map(String id, String what, Throwable e) {
        if (e instanceof HypervisorException h) {
            return h;
        }
        if (silence(e)) {
            return HypervisorException.unreachable("Hypervisor " + id + " did not answer (" + what + "): "
                    + rootMessage(e), e);
        }
        if (e instanceof Types.XenAPIException x) {
            List<String> info = x.errorDescription == null || x.errorDescription.length == 0 ? List.of(code(x))
                    : Arrays.asList(x.errorDescription);
            String detail = x.errorDescription == null && x.shortDescription != null ? " (" + x.shortDescription + ")"
                    : "";
            return new HypervisorException("Hypervisor " + id + " could not " + what + ": " + String.join(" ", info)
                    + detail, retryable(info), e);
        }
        return new HypervisorException("Hypervisor " + id + " could not " + what + ": " + rootMessage(e), false, e);
    }

    /** No answer: a network error under the XML-RPC client, not an error XAPI sent. */
    static boolean silence(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof Types.XenAPIException) {
                return false;
            }
            if (t instanceof IOException && !(t instanceof Types.XenAPIException)) {
                return true;
            }
            if (t instanceof java.util.concurrent.TimeoutException) {
                return true;
            }
        }
        return e instanceof XmlRpcException x && x.getMessage() != null
                && x.getMessage().startsWith("Failed to read server's response");
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }
}
