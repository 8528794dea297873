package org.vdibroker.testsupport;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/**
 * A real PostgreSQL server on 127.0.0.1, and the configuration that makes the broker use it instead of H2, as the
 * {@code postgresql} profile does in production. A test class gets the server in a field of type
 * {@link RestartablePostgres}, e.g. to stop it for a while.
 */
public class PostgresTestResource implements QuarkusTestResourceLifecycleManager {

    private RestartablePostgres postgres;

    @Override
    public Map<String, String> start() {
        postgres = RestartablePostgres.start();
        return Map.of(
                "quarkus.datasource.\"embedded\".active", "false",
                "quarkus.hibernate-orm.\"embedded\".active", "false",
                "quarkus.datasource.\"postgresql\".active", "true",
                "quarkus.hibernate-orm.\"postgresql\".active", "true",
                "quarkus.datasource.\"postgresql\".jdbc.url", postgres.jdbcUrl(),
                "quarkus.datasource.\"postgresql\".username", "postgres",
                "quarkus.datasource.\"postgresql\".password", "");
    }

    @Override
    public void inject(TestInjector testInjector) {
        testInjector.injectIntoFields(postgres, new TestInjector.MatchesType(RestartablePostgres.class));
    }

    @Override
    public void stop() {
        if (postgres != null) {
            postgres.close();
        }
    }
}
