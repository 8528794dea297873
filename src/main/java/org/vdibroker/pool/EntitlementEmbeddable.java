package org.vdibroker.pool;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;
import java.time.Instant;

/**
 * One entitlement of a pool: a Keycloak group path or a user name. A group entitlement also keeps the id of the
 * Keycloak group it was saved for, so a later rename or removal can be told apart from the group still being there,
 * and the outcome of the last check ({@link EntitlementCheck}).
 */
@Embeddable
public class EntitlementEmbeddable {

    @Enumerated(EnumType.STRING)
    @Column(name = "kind", nullable = false)
    public Kind kind;

    @Column(name = "name", nullable = false)
    public String name;

    @Column(name = "group_id")
    public String groupId;

    @Enumerated(EnumType.STRING)
    @Column(name = "check_state")
    public GroupState checkState;

    @Column(name = "check_detail")
    public String checkDetail;

    @Column(name = "checked_at")
    public Instant checkedAt;

    public EntitlementEmbeddable() {
    }

    public EntitlementEmbeddable(Kind kind, String name) {
        this.kind = kind;
        this.name = name;
    }

    public enum Kind { GROUP, USER }

    /** What the identity provider says of an entitled group now. */
    public enum GroupState {
        /** the group exists under this path */
        OK,
        /** not checked: group checks are off, or Keycloak has not answered since the pool was saved */
        UNVERIFIED,
        /** the group was renamed or moved: its members are no longer entitled through this path */
        RENAMED,
        /** the group was removed: nobody is entitled through it */
        REMOVED,
        /** the group was removed and another group now has the path: its members are entitled */
        REPLACED,
        /** no group has this path (it was never resolved to a group) */
        MISSING
    }
}
