package org.vdibroker.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.agroal.api.AgroalDataSource;
import io.quarkus.agroal.DataSource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.vdibroker.pool.LoginHistory;
import org.vdibroker.security.SecretCipher;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.PostgresProfile;
import org.vdibroker.testsupport.Tokens;

/** The same persistence, on a real PostgreSQL: migrations, hypervisors, pools, inventory, audit. */
@QuarkusTest
@TestProfile(PostgresProfile.class)
class PostgresPersistenceTest {

    @Inject
    @DataSource("postgresql")
    AgroalDataSource postgres;

    @Inject
    SecretCipher cipher;

    @Inject
    LoginHistory loginHistory;

    @Test
    void runsOnPostgresql() throws Exception {
        try (Connection c = postgres.getConnection()) {
            assertThat(c.getMetaData().getDatabaseProductName()).isEqualTo("PostgreSQL");
        }
        HypervisorCredentialsTest.credentialsAreNeverReturnedAndStoredEncrypted("hv-pg", postgres, cipher);

        Api.simulator("sim-pg", 10, 50, 50);
        Map<String, Object> pool = new HashMap<>(Api.pool("pg-pool", "floating", 2, 0, 2, "sim-pg",
                List.of("/engineering")));
        pool.put("prewarm", true);
        pool.put("schedules", List.of(Map.of("days", List.of("SAT", "SUN"), "from", "00:00", "to", "24:00",
                "spare", 0)));
        Api.createPool(pool);
        await("desktops ready", Duration.ofSeconds(30), () -> Api.desktopsIn("pg-pool", "READY") == 2);
        Api.requestDesktop(Tokens.user("pat", "/engineering"), "pg-pool").then().statusCode(200);

        // the inventory is written from the outbox, within a second or so
        await("inventory written", Duration.ofSeconds(10), () -> {
            try (Connection c = postgres.getConnection()) {
                return count(c, "select count(*) from desktop where pool_id = 'pg-pool' and vm_ref is not null") == 2;
            } catch (Exception e) {
                return false;
            }
        });
        try (Connection c = postgres.getConnection()) {
            assertThat(count(c, "select count(*) from pool_template where pool_id = 'pg-pool'")).isEqualTo(1);
            assertThat(count(c, "select count(*) from pool_entitlement where pool_id = 'pg-pool'")).isEqualTo(1);
            assertThat(count(c, "select count(*) from pool_schedule where pool_id = 'pg-pool' and ends_at = '24:00'"
                    + " and days = 'SAT,SUN'")).isEqualTo(1);
            assertThat(count(c, "select count(*) from pool where id = 'pg-pool' and prewarm")).isEqualTo(1);
        }
        Instant now = Instant.now();
        assertThat(loginHistory.arrivals("pg-pool", now.minus(Duration.ofDays(28)), now)).as("read on PostgreSQL")
                .isNotNull();
        await("audit written", Duration.ofSeconds(10), () -> {
            try (Connection c = postgres.getConnection()) {
                return count(c, "select count(*) from audit_event where kind = 'desktop.assigned'"
                        + " and actor = 'pat'") == 1;
            } catch (Exception e) {
                return false;
            }
        });
    }

    static long count(Connection c, String sql) throws Exception {
        try (ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
