package org.vdibroker.bench;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.LongFunction;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * HTTP load on Vert.x's non-blocking web client, spread over the broker nodes round-robin (request i goes to node
 * i mod n, as a round-robin load balancer would send it). Latencies go into an HdrHistogram in microseconds.
 *
 * <ul>
 *   <li>Closed loop: N clients, each sends its next request when the previous one answered. Throughput is what the
 *   system sustains at that concurrency.</li>
 *   <li>Open loop: requests are due at a fixed rate whatever the answers; each latency is measured from the time the
 *   request was due, not from when it was sent, so a stalled server shows as latency instead of as fewer requests
 *   (no coordinated omission).</li>
 * </ul>
 * Both stop by themselves: after a number of requests or a duration, whichever comes first.
 */
public final class LoadGenerator implements AutoCloseable {

    /** One request: method, path (with query), bearer token (or null), JSON body (or null). */
    public record Request(HttpMethod method, String path, String token, String body) {
        public static Request get(String path, String token) {
            return new Request(HttpMethod.GET, path, token, null);
        }

        public static Request post(String path, String token, String body) {
            return new Request(HttpMethod.POST, path, token, body);
        }
    }

    /**
     * What a run measured. {@code statuses}: HTTP status (0 for a transport error) to count; {@code byDueSecond}: an
     * open loop's latencies again by the second each request fell due in ({@link ArrivalSeconds#NONE} for a closed
     * loop).
     */
    public record Result(String name, String mode, int concurrency, double targetRate, long requests, long ok,
            long failed, Map<Integer, Long> statuses, double seconds, Histogram latencyMicros,
            ArrivalSeconds byDueSecond) {

        /** A closed loop's result. */
        public Result(String name, String mode, int concurrency, double targetRate, long requests, long ok,
                long failed, Map<Integer, Long> statuses, double seconds, Histogram latencyMicros) {
            this(name, mode, concurrency, targetRate, requests, ok, failed, statuses, seconds, latencyMicros,
                    ArrivalSeconds.NONE);
        }

        public double throughput() {
            return seconds > 0 ? ok / seconds : 0;
        }

        public double millis(double percentile) {
            return latencyMicros.getTotalCount() == 0 ? 0
                    : latencyMicros.getValueAtPercentile(percentile) / 1000.0;
        }
    }

    private final Vertx vertx;
    private final WebClient client;
    private final List<URI> nodes;
    /** The nodes requests go to now; a benchmark takes a node out as a load balancer's health check would. */
    private volatile List<URI> rotation;

    /**
     * @param nodes       base URIs, e.g. {@code http://127.0.0.1:41234}
     * @param connections at most this many connections per node (a closed loop of N clients needs N in all)
     */
    public LoadGenerator(List<URI> nodes, int connections) {
        if (nodes.isEmpty()) {
            throw new IllegalArgumentException("no nodes");
        }
        this.nodes = List.copyOf(nodes);
        this.rotation = this.nodes;
        // two event loops: the machine has two cores, and the brokers need them more than the generator
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2).setWorkerPoolSize(1));
        this.client = WebClient.create(vertx, new WebClientOptions()
                .setMaxPoolSize(Math.max(1, connections))
                .setKeepAlive(true)
                .setTcpNoDelay(true)
                .setConnectTimeout(5000)
                .setIdleTimeout(60)
                .setMaxWaitQueueSize(-1));
    }

    /**
     * {@code clients} clients in a closed loop until {@code maxRequests} requests were sent or {@code maxDuration}
     * passed. {@code requests} makes request number i (0, 1, 2, ... across all clients); {@code onAnswer} sees each
     * answer (status, body) for checks of the caller's own.
     */
    public Result closedLoop(String name, int clients, long maxRequests, Duration maxDuration,
            LongFunction<Request> requests, BiConsumer<Long, HttpResponse<Buffer>> onAnswer) {
        Histogram histogram = new ConcurrentHistogram(TimeUnit.MINUTES.toMicros(10), 3);
        Counts counts = new Counts();
        AtomicLong next = new AtomicLong();
        long start = System.nanoTime();
        long deadline = start + maxDuration.toNanos();
        CountDownLatch done = new CountDownLatch(clients);
        AtomicLong lastAnswer = new AtomicLong(start);
        // when each phase ran, to cut a profile of the nodes (JFR) to one phase; the results print at the end
        System.out.printf("[bench] %s, %d clients: from %s%n", name, clients, java.time.Instant.now());
        for (int c = 0; c < clients; c++) {
            vertx.runOnContext(ignored -> closedStep(next, maxRequests, deadline, requests, histogram, counts, onAnswer,
                    done, lastAnswer));
        }
        await(done, maxDuration.plusSeconds(60));
        double seconds = (lastAnswer.get() - start) / 1e9;
        System.out.printf("[bench] %s, %d clients: until %s%n", name, clients, java.time.Instant.now());
        return counts.result(name, "closed", clients, 0, seconds, histogram, ArrivalSeconds.NONE);
    }

    private void closedStep(AtomicLong next, long maxRequests, long deadline, LongFunction<Request> requests,
            Histogram histogram, Counts counts, BiConsumer<Long, HttpResponse<Buffer>> onAnswer, CountDownLatch done,
            AtomicLong lastAnswer) {
        long index = next.getAndIncrement();
        if (index >= maxRequests || System.nanoTime() >= deadline) {
            done.countDown();
            return;
        }
        long sent = System.nanoTime();
        send(index, requests.apply(index), (status, response) -> {
            long now = System.nanoTime();
            lastAnswer.accumulateAndGet(now, Math::max);
            histogram.recordValue(Math.max(1, (now - sent) / 1000));
            counts.add(status);
            if (onAnswer != null && response != null) {
                onAnswer.accept(index, response);
            }
            closedStep(next, maxRequests, deadline, requests, histogram, counts, onAnswer, done, lastAnswer);
        });
    }

    /**
     * Requests due at {@code ratePerSecond} for {@code duration} (or until {@code maxRequests} were due), each
     * latency measured from its due time. Waits for the last answer (at most a minute after the end).
     */
    public Result openLoop(String name, double ratePerSecond, long maxRequests, Duration duration,
            LongFunction<Request> requests, BiConsumer<Long, HttpResponse<Buffer>> onAnswer) {
        Histogram histogram = new ConcurrentHistogram(TimeUnit.MINUTES.toMicros(10), 3);
        Counts counts = new Counts();
        long intervalNanos = (long) (1e9 / ratePerSecond);
        long total = Math.min(maxRequests, (long) (ratePerSecond * duration.toNanos() / 1e9));
        ArrivalSeconds bySecond = new ArrivalSeconds((int) Math.ceil(total / ratePerSecond));
        CountDownLatch answered = new CountDownLatch((int) total);
        AtomicLong next = new AtomicLong();
        long start = System.nanoTime();
        AtomicLong lastAnswer = new AtomicLong(start);
        // a 1 ms timer sends every request that has fallen due since the last tick; the due time, not the tick,
        // is where its latency starts
        long timer = vertx.setPeriodic(1, id -> {
            long now = System.nanoTime();
            while (true) {
                long index = next.get();
                long due = start + index * intervalNanos;
                if (index >= total || due > now) {
                    break;
                }
                next.incrementAndGet();
                send(index, requests.apply(index), (status, response) -> {
                    long at = System.nanoTime();
                    lastAnswer.accumulateAndGet(at, Math::max);
                    long latency = Math.max(1, (at - due) / 1000);
                    histogram.recordValue(latency);
                    bySecond.record(due - start, latency);
                    counts.add(status);
                    if (onAnswer != null && response != null) {
                        onAnswer.accept(index, response);
                    }
                    answered.countDown();
                });
            }
        });
        boolean all = await(answered, duration.plusSeconds(60));
        vertx.cancelTimer(timer);
        if (!all) {
            // requests never answered count as failed with status 0 ("no answer")
            counts.missing(answered.getCount());
        }
        double seconds = (lastAnswer.get() - start) / 1e9;
        return counts.result(name, "open", 0, ratePerSecond, seconds, histogram, bySecond);
    }

    /** Sends the requests to these of the nodes from now on (none: to all of them, as before any check). */
    public void rotation(List<URI> inRotation) {
        rotation = inRotation.isEmpty() ? nodes : List.copyOf(inRotation);
    }

    private void send(long index, Request request, BiConsumer<Integer, HttpResponse<Buffer>> answer) {
        List<URI> targets = rotation;
        URI node = targets.get((int) (index % targets.size()));
        var call = client.request(request.method(), node.getPort(), node.getHost(), request.path())
                .timeout(30_000);
        if (request.token() != null) {
            call.bearerTokenAuthentication(request.token());
        }
        var future = request.body() == null ? call.send()
                : call.putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(request.body()));
        future.onComplete(result -> {
            if (result.succeeded()) {
                answer.accept(result.result().statusCode(), result.result());
            } else {
                answer.accept(0, null);
            }
        });
    }

    private static boolean await(CountDownLatch latch, Duration timeout) {
        try {
            return latch.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public void close() {
        client.close();
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // closing a load generator: nothing left to measure
        }
    }

    /** Answers by status; 2xx count as ok. */
    private static final class Counts {
        private final Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
        private final LongAdder ok = new LongAdder();
        private final LongAdder failed = new LongAdder();

        void add(int status) {
            statuses.computeIfAbsent(status, s -> new LongAdder()).increment();
            if (status >= 200 && status < 300) {
                ok.increment();
            } else {
                failed.increment();
            }
        }

        void missing(long count) {
            statuses.computeIfAbsent(0, s -> new LongAdder()).add(count);
            failed.add(count);
        }

        Result result(String name, String mode, int concurrency, double rate, double seconds, Histogram histogram,
                ArrivalSeconds bySecond) {
            Map<Integer, Long> byStatus = new TreeMap<>();
            statuses.forEach((status, count) -> byStatus.put(status, count.sum()));
            return new Result(name, mode, concurrency, rate, ok.sum() + failed.sum(), ok.sum(), failed.sum(),
                    byStatus, seconds, histogram.copy(), bySecond);
        }
    }
}
