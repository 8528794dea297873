package org.vdibroker.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** A hypervisor that hangs rather than refuses: its calls time out, count against its breaker, and it is lost. */
@QuarkusTest
class HypervisorHealthTest {

    @Inject
    HypervisorHealth health;

    @Inject
    io.vertx.core.Vertx vertx;

    @Test
    void callsToAHangingHypervisorTimeOutAndItIsLost() {
        HypervisorDriver hanging = new GuardedDriver(new HangingDriver(), health.tracker("hangs"), false);
        Instant start = Instant.now();
        ExecutionException failure = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> hanging.usage().toCompletableFuture().get());
        // call-timeout is 2 s in tests
        assertThat(Duration.between(start, Instant.now())).isBetween(Duration.ofMillis(1500), Duration.ofSeconds(5));
        assertThat(failure.getCause()).isInstanceOf(HypervisorException.class)
                .hasMessageContaining("did not answer in time");
        assertThat(((HypervisorException) failure.getCause()).retryable()).isTrue();
        // host-lost-after (3 s) from the first call that got no answer, as it never answered any
        await("lost", Duration.ofSeconds(5), () -> health.lost("hangs"));
    }

    @Test
    void aRefusalIsAnAnswer() {
        HypervisorDriver refusing = new GuardedDriver(new HangingDriver() {
            @Override
            public CompletionStage<TaskRef> delete(String vmRef) {
                return CompletableFuture.failedFuture(new HypervisorException("No VM " + vmRef, false));
            }
        }, health.tracker("refuses"), false);
        for (int i = 0; i < 20; i++) {
            refusing.delete("vm-x").toCompletableFuture().exceptionally(e -> null).join();
        }
        assertThat(health.breakerOpen("refuses")).isFalse();
        assertThat(health.lost("refuses")).isFalse();
        assertThat(health.driver("refuses")).as("no such hypervisor in the registry").isEmpty();
    }

    /**
     * Every call starts on its caller's thread: under a Vert.x context on a worker thread (a blocking request, the pool
     * manager's tick) it does not wait for the worker pool behind queued requests; a background caller on a plain
     * thread (a creation's) starts it there too. A late answer to background work continues on the thread that
     * brought it, not handed back to the caller's context. All calls count against the one breaker.
     */
    @Test
    void callsStartOnTheCallersThread() throws Exception {
        Map<String, String> startedOn = new java.util.concurrent.ConcurrentHashMap<>();
        HypervisorHealth.Tracker tracker = health.tracker("threads");
        CompletableFuture<TaskRef> late = new CompletableFuture<>();
        class Recording extends HangingDriver {
            @Override
            public CompletionStage<TaskRef> delete(String vmRef) {
                startedOn.put(vmRef, Thread.currentThread().getName());
                return CompletableFuture.failedFuture(HypervisorException.unreachable("silent", null));
            }

            @Override
            public CompletionStage<TaskRef> powerOff(String vmRef) {
                return late;
            }
        }
        HypervisorDriver background = new GuardedDriver(new Recording(), tracker, true);
        HypervisorDriver request = new GuardedDriver(new Recording(), tracker, false);
        // a hypervisor of its own: the silences above may open the first one's breaker, which would refuse this call
        HypervisorDriver answersLate = new GuardedDriver(new Recording(), health.tracker("threads-late"), true);
        // a Vert.x context on a worker thread, as the tick and a blocking request run
        io.vertx.core.impl.ContextInternal tick = ((io.vertx.core.impl.VertxInternal) vertx)
                .createEventLoopContext().duplicate();
        CompletableFuture<String> workerThread = new CompletableFuture<>();
        CompletableFuture<String> lateAnswerOn = new CompletableFuture<>();
        CompletableFuture<Void> both = new CompletableFuture<>();
        CompletableFuture<Void> lateCallMade = new CompletableFuture<>();
        tick.executeBlocking(() -> {
            workerThread.complete(Thread.currentThread().getName());
            CompletableFuture.allOf(
                    background.delete("from-background").toCompletableFuture().exceptionally(e -> null),
                    request.delete("from-request").toCompletableFuture().exceptionally(e -> null))
                    .whenComplete((v, e) -> both.complete(null));
            answersLate.powerOff("vm-late").thenRun(() -> lateAnswerOn.complete(Thread.currentThread().getName()));
            lateCallMade.complete(null);
            return null;
        }, false);
        both.get(10, java.util.concurrent.TimeUnit.SECONDS);
        String worker = workerThread.get();
        assertThat(startedOn.get("from-background")).isEqualTo(worker);
        assertThat(startedOn.get("from-request")).isEqualTo(worker);
        // answered only once the call was made (else it would be answered at once, on the caller's thread)
        lateCallMade.get(10, java.util.concurrent.TimeUnit.SECONDS);
        Thread answering = new Thread(() -> late.complete(new TaskRef("h", "t", "vm-late")), "driver-answer");
        answering.start();
        assertThat(lateAnswerOn.get(5, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("driver-answer");
        // a background caller on a plain thread of its own (a creation's) starts its call right there
        background.delete("from-creation").toCompletableFuture().exceptionally(e -> null).join();
        assertThat(startedOn.get("from-creation")).isEqualTo(Thread.currentThread().getName());
        await("both silences counted: the hypervisor is seen unanswering", Duration.ofSeconds(5),
                () -> tracker.unansweredSince != null);
    }

    /**
     * A hypervisor call made inside a database transaction would carry the transaction onto the breaker's threads,
     * where its commit could race them: the guard refuses it (an assertion, on in tests), and outside one it goes.
     */
    @Test
    void aCallInsideADatabaseTransactionIsRefused() {
        HypervisorDriver driver = new GuardedDriver(new HangingDriver() {
            @Override
            public CompletionStage<TaskRef> delete(String vmRef) {
                return CompletableFuture.completedFuture(null);
            }
        }, health.tracker("in-tx"), false);
        // QuarkusTransaction wraps what the block threw
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> io.quarkus.narayana.jta.QuarkusTransaction.requiringNew().run(() -> driver.delete("vm-x")))
                .rootCause().isInstanceOf(AssertionError.class).hasMessageContaining("inside a database transaction");
        assertThat(driver.delete("vm-x").toCompletableFuture().join()).isNull();
    }

    /**
     * Where the caller's next step runs: an answer that comes late from the driver's thread, and a timeout from the
     * guard's timer, continue on a worker under the caller's Vert.x context (a blocking REST method's: its request's
     * event-loop context), never on the thread that delivered them nor on the event loop.
     */
    @Test
    void answersContinueWhereTheCallerWas() throws Exception {
        CompletableFuture<ConsoleAddress> late = new CompletableFuture<>();
        HypervisorDriver driver = new GuardedDriver(new HangingDriver() {
            @Override
            public CompletionStage<TaskRef> delete(String vmRef) {
                return CompletableFuture.completedFuture(new TaskRef("h", "t", vmRef));
            }

            @Override
            public CompletionStage<ConsoleAddress> consoleAddress(String vmRef, String protocol) {
                return late;
            }
        }, health.tracker("answers"), false);
        // as a blocking REST method runs: on a worker thread, under its request's duplicated event-loop context
        io.vertx.core.impl.ContextInternal request = ((io.vertx.core.impl.VertxInternal) vertx)
                .createEventLoopContext().duplicate();
        record Where(Thread thread, io.vertx.core.Context context, boolean eventLoop) {
            static Where now() {
                return new Where(Thread.currentThread(), io.vertx.core.Vertx.currentContext(),
                        io.vertx.core.Context.isOnEventLoopThread());
            }
        }
        CompletableFuture<Where> caller = new CompletableFuture<>();
        CompletableFuture<Where> atOnce = new CompletableFuture<>();
        CompletableFuture<Where> afterLate = new CompletableFuture<>();
        CompletableFuture<Where> afterTimeout = new CompletableFuture<>();
        request.executeBlocking(() -> {
            caller.complete(Where.now());
            driver.delete("vm-1").thenRun(() -> atOnce.complete(Where.now()));
            driver.consoleAddress("vm-1", "vnc").thenRun(() -> afterLate.complete(Where.now()));
            driver.usage().whenComplete((u, e) -> afterTimeout.complete(Where.now()));
            return null;
        }, false);
        Where callerWhere = caller.get(5, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(callerWhere.context()).isSameAs(request);
        assertThat(callerWhere.eventLoop()).isFalse();
        Where atOnceWhere = atOnce.get(5, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(atOnceWhere.context()).isSameAs(request);
        assertThat(atOnceWhere.eventLoop()).isFalse();
        assertThat(atOnceWhere.thread()).as("an answer there at once continues without a hop").isSameAs(
                callerWhere.thread());

        Thread answering = new Thread(() -> late.complete(new ConsoleAddress("vnc", "127.0.0.1", 5900)),
                "driver-answer");
        answering.start();
        Where lateWhere = afterLate.get(5, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(lateWhere.thread()).isNotSameAs(answering);
        assertThat(lateWhere.context()).isSameAs(request);
        assertThat(lateWhere.eventLoop()).as("a blocking caller continues on a worker, not the event loop").isFalse();

        // call-timeout is 2 s in tests; the timeout fires on the guard's timer thread
        Where timeoutWhere = afterTimeout.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(timeoutWhere.context()).isSameAs(request);
        assertThat(timeoutWhere.eventLoop()).isFalse();
        assertThat(timeoutWhere.thread().getName()).doesNotContainIgnoringCase("timer");
    }

    /** Never answers anything. */
    private static class HangingDriver implements HypervisorDriver {
        private static <T> CompletionStage<T> never() {
            return new CompletableFuture<>();
        }

        @Override
        public CompletionStage<HostUsage> usage() {
            return never();
        }

        @Override
        public CompletionStage<List<VmInfo>> listVms(String namePrefix) {
            return never();
        }

        @Override
        public CompletionStage<TaskRef> provision(ProvisionSpec spec) {
            return never();
        }

        @Override
        public CompletionStage<TaskRef> powerOn(String vmRef) {
            return never();
        }

        @Override
        public CompletionStage<TaskRef> powerOff(String vmRef) {
            return never();
        }

        @Override
        public CompletionStage<TaskRef> revert(String vmRef, Map<String, String> guestMetadata) {
            return never();
        }

        @Override
        public CompletionStage<TaskRef> delete(String vmRef) {
            return never();
        }

        @Override
        public CompletionStage<TaskStatus> pollTask(TaskRef task) {
            return never();
        }

        @Override
        public CompletionStage<ConsoleAddress> consoleAddress(String vmRef, String protocol) {
            return never();
        }
    }
}
