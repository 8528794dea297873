package org.vdibroker.cluster;

/** Where a node's admin definitions come from now, shown in its readiness details. */
public enum DefinitionSource {
    /** Read from the database in the last round (and published to the cluster). */
    DATABASE,
    /** The database does not answer: served from the cluster's definitions cache. */
    CLUSTER;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
