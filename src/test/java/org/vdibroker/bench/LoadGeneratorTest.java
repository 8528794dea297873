package org.vdibroker.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vdibroker.bench.LoadGenerator.Request;

/**
 * The load generator the benchmarks rely on, against two small HTTP servers on loopback: requests are spread
 * round-robin, a run stops by itself, and an open loop counts a server's stall in full (latency from the time a
 * request was due), where a closed loop only sees it once per client.
 */
class LoadGeneratorTest {

    private Vertx vertx;
    private final AtomicInteger[] served = {new AtomicInteger(), new AtomicInteger()};
    private final AtomicLong stallUntil = new AtomicLong();
    private URI[] nodes;

    @BeforeEach
    void startServers() throws Exception {
        vertx = Vertx.vertx();
        nodes = new URI[2];
        for (int i = 0; i < 2; i++) {
            int node = i;
            HttpServer server = vertx.createHttpServer().requestHandler(request -> {
                served[node].incrementAndGet();
                long wait = TimeUnit.NANOSECONDS.toMillis(stallUntil.get() - System.nanoTime());
                int status = "/missing".equals(request.path()) ? 404 : 200;
                if (wait > 0) {
                    vertx.setTimer(wait, t -> request.response().setStatusCode(status).end("late"));
                } else {
                    request.response().setStatusCode(status).end("ok");
                }
            }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            nodes[i] = URI.create("http://127.0.0.1:" + server.actualPort());
        }
    }

    @AfterEach
    void stopServers() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void closedLoopSendsExactlyTheRequestsAskedForRoundRobin() {
        try (LoadGenerator load = new LoadGenerator(List.of(nodes), 4)) {
            LoadGenerator.Result result = load.closedLoop("smoke", 4, 100, Duration.ofSeconds(30),
                    i -> Request.get(i % 10 == 0 ? "/missing" : "/ok", "token-" + i), null);

            assertThat(result.requests()).isEqualTo(100);
            assertThat(result.ok()).isEqualTo(90);
            assertThat(result.statuses()).containsEntry(200, 90L).containsEntry(404, 10L);
            assertThat(result.latencyMicros().getTotalCount()).isEqualTo(100);
            assertThat(served[0].get()).isEqualTo(50);
            assertThat(served[1].get()).isEqualTo(50);
        }
    }

    @Test
    void openLoopCountsAStallFromWhenEachRequestWasDueAndClosedLoopDoesNot() {
        try (LoadGenerator load = new LoadGenerator(List.of(nodes[0]), 1)) {
            // both loops meet the same one-second stall at their start
            stallUntil.set(System.nanoTime() + TimeUnit.SECONDS.toNanos(1));
            LoadGenerator.Result open = load.openLoop("open", 100, 10_000, Duration.ofSeconds(2),
                    i -> Request.get("/ok", null), null);
            stallUntil.set(System.nanoTime() + TimeUnit.SECONDS.toNanos(1));
            LoadGenerator.Result closed = load.closedLoop("closed", 1, 10_000, Duration.ofSeconds(2),
                    i -> Request.get("/ok", null), null);

            assertThat(open.requests()).isEqualTo(200);
            assertThat(open.ok()).isEqualTo(200);
            // half the requests fell due during the stall and waited up to 1 s: about 500 ms at the 75th percentile
            assertThat(open.millis(75)).isGreaterThan(300);
            // by due second: the stall is the first second's, the second second's backlog is answered at once
            List<Map<String, Object>> bySecond = open.byDueSecond().summary();
            assertThat(bySecond).extracting(s -> s.get("second")).containsExactly(0, 1);
            assertThat(bySecond).extracting(s -> s.get("requests")).containsExactly(100L, 100L);
            assertThat((double) bySecond.get(0).get("p50Ms")).isGreaterThan(300);
            assertThat((double) bySecond.get(1).get("p50Ms")).isLessThan(300);
            // the closed loop's single client sent one request into the stall, then only fast ones
            assertThat(closed.requests()).isGreaterThan(10);
            assertThat(closed.millis(75)).isLessThan(300);
            assertThat(closed.millis(100)).isGreaterThan(800);
        }
    }
}
