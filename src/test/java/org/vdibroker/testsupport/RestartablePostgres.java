package org.vdibroker.testsupport;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A real PostgreSQL server (binaries from Maven Central, no Docker) on 127.0.0.1 that a test can stop and start
 * again on the same port and data directory: a database outage, as the broker sees one.
 */
public final class RestartablePostgres implements AutoCloseable {

    private final Path dataDirectory;
    private final int port;
    private EmbeddedPostgres server;

    private RestartablePostgres(Path dataDirectory, int port, EmbeddedPostgres server) {
        this.dataDirectory = dataDirectory;
        this.port = port;
        this.server = server;
    }

    public static RestartablePostgres start() {
        try {
            Path dataDirectory = Files.createTempDirectory("vdi-postgres-");
            EmbeddedPostgres server = builder(dataDirectory).start();
            return new RestartablePostgres(dataDirectory, server.getPort(), server);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    /** Stops the server (fast shutdown: open connections are cut); the data stays. */
    public synchronized void stop() {
        if (server != null) {
            try {
                server.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                server = null;
            }
        }
    }

    /** Starts the server again on the same port with the same data. */
    public synchronized void restart() {
        if (server == null) {
            try {
                server = builder(dataDirectory).setPort(port).start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** A connection of the superuser, for checking what the broker wrote. */
    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl(), "postgres", "");
    }

    /** The single number a query such as {@code select count(*) ...} returns. */
    public long count(String sql) {
        try (Connection c = connect(); ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        stop();
        try (Stream<Path> files = Files.walk(dataDirectory)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static EmbeddedPostgres.Builder builder(Path dataDirectory) {
        return EmbeddedPostgres.builder().setServerConfig("listen_addresses", "127.0.0.1")
                .setDataDirectory(dataDirectory).setCleanDataDirectory(false);
    }
}
