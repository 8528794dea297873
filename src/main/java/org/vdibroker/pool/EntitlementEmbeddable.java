package org.vdibroker.pool;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;
import jakarta.persistence.EnumType;
import jakarta.persistence.Enumerated;

/** One entitlement of a pool: a Keycloak group path or a user name. */
@Embeddable
public class EntitlementEmbeddable {

    @Enumerated(EnumType.STRING)
    @Column(name = "kind", nullable = false)
    public Kind kind;

    @Column(name = "name", nullable = false)
    public String name;

    public EntitlementEmbeddable() {
    }

    public EntitlementEmbeddable(Kind kind, String name) {
        this.kind = kind;
        this.name = name;
    }

    public enum Kind { GROUP, USER }
}
