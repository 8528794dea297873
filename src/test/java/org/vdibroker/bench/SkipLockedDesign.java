package org.vdibroker.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * The design of brokers that keep assignment in SQL: a desktop is claimed in one transaction that picks a ready row
 * with {@code SELECT ... FOR UPDATE SKIP LOCKED}, marks it assigned and inserts the session (one per user and pool,
 * by primary key). Run on the same PostgreSQL as the broker nodes, in a database of its own, with a connection per
 * client up to {@link #MAX_CONNECTIONS} (what a broker's connection pool would allow).
 *
 * <p>Commits are durable ({@code synchronous_commit = on}, PostgreSQL's default and what a broker keeping assignments
 * in SQL must run: a commit lost in a crash is a desktop handed out twice afterwards). The embedded PostgreSQL of the
 * benchmarks starts with {@code synchronous_commit = off}, so each connection sets it; a non-durable variant is kept
 * as a reference figure.
 */
public final class SkipLockedDesign {

    /** A broker's connection pool is not larger; more connections only add contention on two cores. */
    public static final int MAX_CONNECTIONS = 64;

    private static final String CLAIM = """
            UPDATE desktop SET state = 'ASSIGNED', owner = ?
             WHERE id = (SELECT id FROM desktop WHERE pool = ? AND state = 'READY'
                          ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING id""";

    private final String url;
    private final String user;
    private final boolean durable;

    /**
     * Creates database {@code name} next to {@code adminUrl}'s (dropped first if an earlier run left it); its claims
     * commit durably when {@code durable}, else with {@code synchronous_commit = off}.
     */
    public SkipLockedDesign(String adminUrl, String user, String name, boolean durable) throws SQLException {
        try (Connection admin = DriverManager.getConnection(adminUrl, user, "");
                Statement statement = admin.createStatement()) {
            statement.execute("DROP DATABASE IF EXISTS " + name);
            statement.execute("CREATE DATABASE " + name);
        }
        this.url = adminUrl.substring(0, adminUrl.lastIndexOf('/') + 1) + name;
        this.user = user;
        this.durable = durable;
    }

    /** {@code count} ready desktops in one pool. */
    public void seed(String pool, int count) throws SQLException {
        try (Connection connection = connect(); Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE desktop (id text PRIMARY KEY, pool text NOT NULL, state text NOT NULL,"
                    + " owner text)");
            statement.execute("CREATE INDEX desktop_ready ON desktop (pool, state)");
            statement.execute("CREATE TABLE session (pool text NOT NULL, owner text NOT NULL,"
                    + " desktop text NOT NULL UNIQUE REFERENCES desktop (id), PRIMARY KEY (pool, owner))");
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO desktop (id, pool, state) SELECT ? || '-db-' || i, ?, 'READY'"
                            + " FROM generate_series(1, ?) AS i")) {
                insert.setString(1, pool);
                insert.setString(2, pool);
                insert.setInt(3, count);
                insert.execute();
            }
            statement.execute("ANALYZE desktop");
        }
    }

    /**
     * {@code clients} clients (threads) claim one desktop each for users user-0 ... until {@code users} claims were
     * made or {@code maxDuration} passed; connections are capped at {@link #MAX_CONNECTIONS}, so beyond that clients
     * wait for a connection as they would for a pooled one (counted in their latency).
     */
    public LoadGenerator.Result claim(String name, String pool, String userPrefix, long users, int clients,
            Duration maxDuration) throws SQLException {
        int connections = Math.min(clients, MAX_CONNECTIONS);
        java.util.concurrent.BlockingQueue<Connection> idle =
                new java.util.concurrent.ArrayBlockingQueue<>(connections);
        for (int i = 0; i < connections; i++) {
            Connection connection = connect();
            connection.setAutoCommit(false);
            idle.add(connection);
        }
        Histogram histogram = new ConcurrentHistogram(TimeUnit.MINUTES.toMicros(10), 3);
        Map<Integer, LongAdder> outcomes = new java.util.concurrent.ConcurrentHashMap<>();
        AtomicLong next = new AtomicLong();
        long start = System.nanoTime();
        long deadline = start + maxDuration.toNanos();
        CountDownLatch done = new CountDownLatch(clients);
        for (int c = 0; c < clients; c++) {
            Thread client = new Thread(() -> {
                try {
                    while (System.nanoTime() < deadline) {
                        long index = next.getAndIncrement();
                        if (index >= users) {
                            break;
                        }
                        long sent = System.nanoTime();
                        int outcome = claimOne(idle, pool, userPrefix + index);
                        histogram.recordValue(Math.max(1, (System.nanoTime() - sent) / 1000));
                        outcomes.computeIfAbsent(outcome, o -> new LongAdder()).increment();
                    }
                } finally {
                    done.countDown();
                }
            }, "skip-locked-client-" + c);
            client.setDaemon(true);
            client.start();
        }
        try {
            done.await(maxDuration.toSeconds() + 60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        for (Connection connection : idle) {
            connection.close();
        }
        Map<Integer, Long> byOutcome = new TreeMap<>();
        outcomes.forEach((k, v) -> byOutcome.put(k, v.sum()));
        long ok = byOutcome.getOrDefault(1, 0L);
        long failed = byOutcome.values().stream().mapToLong(Long::longValue).sum() - ok;
        return new LoadGenerator.Result(name, "closed", clients, 0, ok + failed, ok, failed, byOutcome, seconds,
                histogram);
    }

    /** 1: claimed; 2: no ready desktop left; 0: an SQL error (rolled back). */
    private int claimOne(java.util.concurrent.BlockingQueue<Connection> idle, String pool, String owner) {
        Connection connection;
        try {
            connection = idle.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
        try (PreparedStatement claim = connection.prepareStatement(CLAIM);
                PreparedStatement session = connection.prepareStatement(
                        "INSERT INTO session (pool, owner, desktop) VALUES (?, ?, ?)")) {
            claim.setString(1, owner);
            claim.setString(2, pool);
            String desktop;
            try (ResultSet row = claim.executeQuery()) {
                desktop = row.next() ? row.getString(1) : null;
            }
            if (desktop == null) {
                connection.rollback();
                return 2;
            }
            session.setString(1, pool);
            session.setString(2, owner);
            session.setString(3, desktop);
            session.executeUpdate();
            connection.commit();
            return 1;
        } catch (SQLException e) {
            try {
                connection.rollback();
            } catch (SQLException ignored) {
                // the connection is broken; the next claim on it fails too and says so
            }
            return 0;
        } finally {
            idle.add(connection);
        }
    }

    /**
     * Invariant violations: desktops ASSIGNED without exactly one session, sessions on a desktop not ASSIGNED to
     * their owner, and ready + assigned != size. (Two sessions per user and pool, or per desktop, the keys forbid.)
     */
    public long violations(int size) throws SQLException {
        try (Connection connection = connect(); Statement statement = connection.createStatement();
                ResultSet row = statement.executeQuery("""
                        SELECT (SELECT count(*) FROM desktop d WHERE d.state = 'ASSIGNED'
                                  AND (SELECT count(*) FROM session s WHERE s.desktop = d.id) <> 1)
                             + (SELECT count(*) FROM session s JOIN desktop d ON d.id = s.desktop
                                  WHERE d.state <> 'ASSIGNED' OR d.owner <> s.owner)
                             + CASE WHEN (SELECT count(*) FROM desktop WHERE state IN ('READY', 'ASSIGNED')) = ?
                                    THEN 0 ELSE 1 END""".replace("?", Integer.toString(size)))) {
            row.next();
            return row.getLong(1);
        }
    }

    private Connection connect() throws SQLException {
        Connection connection = DriverManager.getConnection(url, user, "");
        try (Statement statement = connection.createStatement()) {
            statement.execute("SET synchronous_commit TO " + (durable ? "on" : "off"));
        }
        return connection;
    }
}
