package org.vdibroker.hypervisor.libvirt;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.vdibroker.hypervisor.HypervisorException;

/**
 * Turns what libvirt throws into {@link HypervisorException}s an admin can act on: which operation, on which
 * hypervisor, what libvirt said, and whether trying again later may work.
 */
final class LibvirtErrors {

    /** Errors of the connection or a busy host, not of the request: the same call may work later. */
    private static final Set<ErrorNumber> RETRYABLE = EnumSet.of(ErrorNumber.VIR_ERR_NO_CONNECT,
            ErrorNumber.VIR_ERR_INVALID_CONN, ErrorNumber.VIR_ERR_SYSTEM_ERROR, ErrorNumber.VIR_ERR_RPC,
            ErrorNumber.VIR_ERR_OPERATION_TIMEOUT, ErrorNumber.VIR_ERR_AGENT_UNRESPONSIVE,
            ErrorNumber.VIR_ERR_AGENT_UNSYNCED, ErrorNumber.VIR_ERR_RESOURCE_BUSY,
            ErrorNumber.VIR_ERR_OPERATION_ABORTED, ErrorNumber.VIR_ERR_NO_SERVER, ErrorNumber.VIR_ERR_NO_CLIENT,
            ErrorNumber.VIR_ERR_SSH, ErrorNumber.VIR_ERR_LIBSSH, ErrorNumber.VIR_ERR_AUTH_UNAVAILABLE,
            ErrorNumber.VIR_ERR_NO_MEMORY);

    /** Errors that mean the connection itself is gone and must be opened again. */
    private static final Set<ErrorNumber> CONNECTION_LOST = EnumSet.of(ErrorNumber.VIR_ERR_NO_CONNECT,
            ErrorNumber.VIR_ERR_INVALID_CONN, ErrorNumber.VIR_ERR_SYSTEM_ERROR, ErrorNumber.VIR_ERR_RPC,
            ErrorNumber.VIR_ERR_NO_SERVER, ErrorNumber.VIR_ERR_SSH, ErrorNumber.VIR_ERR_LIBSSH);

    private LibvirtErrors() {
    }

    /** The broker's error for a failed operation {@code what} (e.g. "start VM d1") on hypervisor {@code id}. */
    static HypervisorException map(String id, String what, Throwable failure) {
        Throwable e = unwrap(failure);
        if (e instanceof HypervisorException he) {
            return he;
        }
        if (e instanceof LibvirtException le) {
            return map(id, what, le);
        }
        if (e instanceof TimeoutException) {
            return HypervisorException.unreachable("Hypervisor " + id + " did not answer in time to " + what, e);
        }
        if (e instanceof UnsatisfiedLinkError || e instanceof NoClassDefFoundError) {
            return new HypervisorException("Cannot " + what + " on hypervisor " + id + ": the libvirt client library"
                    + " (Debian package libvirt0) is not installed on this broker node", false, e);
        }
        return new HypervisorException("Cannot " + what + " on hypervisor " + id + ": " + e, false, e);
    }

    static HypervisorException map(String id, String what, LibvirtException e) {
        ErrorNumber code = code(e);
        String said = redact(e.getError() == null ? e.getMessage() : e.getError().getMessage());
        String detail = switch (code) {
            case VIR_ERR_NO_DOMAIN -> "the VM does not exist";
            case VIR_ERR_NO_STORAGE_VOL -> "the disk image is not a volume of any libvirt storage pool";
            case VIR_ERR_NO_STORAGE_POOL -> "the storage pool does not exist";
            case VIR_ERR_AUTH_FAILED, VIR_ERR_AUTH_CANCELLED -> "libvirt refused the credentials";
            case VIR_ERR_ACCESS_DENIED, VIR_ERR_OPERATION_DENIED -> "libvirt denied the operation to this user";
            case VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_UNSUPPORTED, VIR_ERR_ARGUMENT_UNSUPPORTED ->
                "this libvirt driver does not support it";
            case VIR_ERR_NO_CONNECT, VIR_ERR_RPC, VIR_ERR_SYSTEM_ERROR, VIR_ERR_NO_SERVER ->
                "libvirt cannot be reached";
            default -> null;
        };
        String message = "Cannot " + what + " on hypervisor " + id + ": " + (detail == null ? "" : detail + ": ")
                + said + " (" + code.name().toLowerCase(Locale.ROOT).replace("vir_err_", "libvirt error ") + ")";
        return CONNECTION_LOST.contains(code) ? HypervisorException.unreachable(message, e)
                : new HypervisorException(message, RETRYABLE.contains(code), e);
    }

    static boolean connectionLost(Throwable failure) {
        Throwable e = unwrap(failure);
        if (e instanceof HypervisorException && e.getCause() != null) {
            e = e.getCause();
        }
        return e instanceof LibvirtException le && CONNECTION_LOST.contains(code(le));
    }

    static boolean is(LibvirtException e, ErrorNumber number) {
        return code(e) == number;
    }

    static ErrorNumber code(LibvirtException e) {
        return e.getError() == null || e.getError().getCode() == null ? ErrorNumber.VIR_ERR_UNKNOWN
                : e.getError().getCode();
    }

    /** libvirt may echo parts of a domain definition: never let a console password or guest metadata through. */
    static String redact(String message) {
        if (message == null) {
            return "";
        }
        return message.replaceAll("(?i)(passwd\\s*=\\s*)(['\"])[^'\"]*\\2", "$1$2***$2")
                .replaceAll("(?i)(<entry>\\s*vdi\\.[^=<]*=)[^<]*", "$1***");
    }

    private static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
