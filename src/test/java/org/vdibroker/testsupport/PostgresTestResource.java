package org.vdibroker.testsupport;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * A real PostgreSQL server (binaries from Maven Central, no Docker) on 127.0.0.1, and the configuration that makes
 * the broker use it instead of H2, as the {@code postgresql} profile does in production.
 */
public class PostgresTestResource implements QuarkusTestResourceLifecycleManager {

    private EmbeddedPostgres postgres;

    @Override
    public Map<String, String> start() {
        try {
            postgres = EmbeddedPostgres.builder().setServerConfig("listen_addresses", "127.0.0.1").start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.of(
                "quarkus.datasource.\"embedded\".active", "false",
                "quarkus.hibernate-orm.\"embedded\".active", "false",
                "quarkus.datasource.\"postgresql\".active", "true",
                "quarkus.hibernate-orm.\"postgresql\".active", "true",
                "quarkus.datasource.\"postgresql\".jdbc.url",
                "jdbc:postgresql://127.0.0.1:" + postgres.getPort() + "/postgres",
                "quarkus.datasource.\"postgresql\".username", "postgres",
                "quarkus.datasource.\"postgresql\".password", "");
    }

    @Override
    public void stop() {
        if (postgres != null) {
            try {
                postgres.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
