package org.vdibroker.pool;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;
import java.io.Serializable;
import java.time.Instant;
import java.util.Objects;

/** Sessions opened in one pool during one 15-minute slot, as kept for the forecast. */
@Entity
@Table(name = "login_count")
@IdClass(LoginCountEntity.Key.class)
public class LoginCountEntity {

    @Id
    @Column(name = "pool_id")
    public String poolId;

    /** UTC, aligned to the slot length. */
    @Id
    @Column(name = "slot_start")
    public Instant slotStart;

    public int arrivals;

    public static class Key implements Serializable {

        public String poolId;
        public Instant slotStart;

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Objects.equals(poolId, k.poolId) && Objects.equals(slotStart, k.slotStart);
        }

        @Override
        public int hashCode() {
            return Objects.hash(poolId, slotStart);
        }
    }
}
