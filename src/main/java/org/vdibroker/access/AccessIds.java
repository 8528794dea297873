package org.vdibroker.access;

import java.util.regex.Pattern;
import org.vdibroker.api.ProblemException;

/** Checks the shape of ids in paths, so a malformed one gets a clear 400 instead of a lookup. */
public final class AccessIds {

    /** Pool and hypervisor ids: short lowercase names chosen by admins. */
    public static final String NAME_PATTERN = "[a-z0-9][a-z0-9-]{0,62}";
    private static final Pattern NAME = Pattern.compile(NAME_PATTERN);
    private static final Pattern UUID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

    private AccessIds() {
    }

    public static String name(String what, String id) {
        if (id == null || !NAME.matcher(id).matches()) {
            throw new ProblemException(400, "invalid-id", "Invalid id",
                    what + " ids are 1-63 lowercase letters, digits and dashes");
        }
        return id;
    }

    public static String uuid(String what, String id) {
        if (id == null || !UUID.matcher(id).matches()) {
            throw new ProblemException(400, "invalid-id", "Invalid id", what + " ids are UUIDs");
        }
        return id;
    }
}
