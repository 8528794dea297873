package org.vdibroker.hypervisor.vsphere;

import java.util.Set;
import org.vdibroker.hypervisor.HypervisorException;

/**
 * Turns vSphere faults into {@link HypervisorException}s an admin can act on: which operation, on which hypervisor,
 * what vSphere said, and whether trying again later may work. Only silence (no answer, a session that cannot be
 * re-established) is unreachable; every fault vSphere answered with shows the hypervisor is there.
 */
final class VsphereErrors {

    /** Faults of a busy or changing system, not of the request: the same call may work later. */
    private static final Set<String> RETRYABLE = Set.of("InvalidPowerState", "InvalidState", "TaskInProgress",
            "ConcurrentAccess", "FileLocked", "HostNotConnected", "HostNotReachable", "RequestCanceled",
            "SystemError", "Timedout", "ResourceInUse", "NotEnoughLicenses");

    private VsphereErrors() {
    }

    static HypervisorException map(String id, String what, Throwable failure) {
        Throwable e = VimClient.unwrap(failure);
        if (e instanceof HypervisorException he) {
            return he;
        }
        if (e instanceof VimFault f) {
            return map(id, what, f);
        }
        return new HypervisorException("Cannot " + what + " on hypervisor " + id + ": " + e, false, e);
    }

    static HypervisorException map(String id, String what, VimFault f) {
        String message = "Cannot " + what + " on hypervisor " + id + ": " + detail(f) + " (vSphere fault "
                + f.type() + ")";
        if (f.is("NotAuthenticated")) {
            // the call was repeated after a fresh login and still refused: the session cannot be re-established
            return HypervisorException.unreachable(message, f);
        }
        return new HypervisorException(message, retryable(f.type()), f);
    }

    static boolean retryable(String type) {
        return RETRYABLE.contains(type) || type.startsWith("Insufficient");
    }

    private static String detail(VimFault f) {
        String type = f.type();
        String said = f.getMessage() == null || f.getMessage().equals(type) ? "" : ": " + f.getMessage();
        if (type.equals("InvalidLogin")) {
            return "vSphere refused the user name or password" + said;
        }
        if (type.equals("NoPermission")) {
            return "the vSphere role of the broker's user lacks a privilege" + said;
        }
        if (type.equals("ManagedObjectNotFound")) {
            return "the object does not exist (any more)" + said;
        }
        if (type.equals("InvalidPowerState")) {
            return "the VM is not in the power state this needs" + said;
        }
        if (type.startsWith("Insufficient")) {
            return "not enough resources on the host or cluster" + said;
        }
        if (type.equals("MethodNotFound") || type.equals("NotSupported") || type.equals("NotImplemented")) {
            return "this vSphere server does not offer it" + said;
        }
        if (type.startsWith("File") || type.equals("CannotAccessFile")) {
            return "a datastore file operation failed" + said;
        }
        return said.isEmpty() ? "vSphere refused" : said.substring(2);
    }
}
