package org.vdibroker.access;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.infinispan.commands.VisitableCommand;
import org.infinispan.commands.write.PutKeyValueCommand;
import org.infinispan.commons.CacheException;
import org.infinispan.commons.IllegalLifecycleStateException;
import org.infinispan.context.InvocationContext;
import org.infinispan.factories.ComponentRegistry;
import org.infinispan.interceptors.AsyncInterceptorChain;
import org.infinispan.interceptors.BaseAsyncInterceptor;
import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.Test;
import org.vdibroker.audit.AuditEvent;
import org.vdibroker.audit.AuditService;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.session.SessionState;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * Writes of a desktop request that met a node shutting down (it refuses them with its caches in STOPPING state, as
 * OutageRestartIT met it) are asked again through the one guard {@code PeerStoppingRetry}: the request itself when
 * its session's write was refused, and the audit entry where its own write was refused (the request asked again
 * finds the session it had already opened and writes no second entry). Any other failure is not asked again.
 */
@QuarkusTest
class AuditOnStoppingPeerTest {

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    AuditService audit;

    @Inject
    MeterRegistry meters;

    @Test
    void anAssignmentWhoseAuditWriteWasRefusedByAStoppingPeerIsAuditedOnce() {
        readyPool("stopping-peer", 1);
        Refuses refusing = Refuses.stopping(v -> v instanceof AuditEvent e && "desktop.assigned".equals(e.kind())
                && "audited-through-a-stop".equals(e.actor()));
        Response response = withRefusals(CacheNames.OUTBOX, refusing,
                () -> Api.requestDesktop(Tokens.user("audited-through-a-stop", "/engineering"), "stopping-peer"));
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(refusing.refused.get()).as("the audit write was refused once").isEqualTo(1);
        String sessionId = response.jsonPath().getString("id");
        assertThat(audit.page(0, 1000)).filteredOn(e -> "desktop.assigned".equals(e.kind())
                && sessionId.equals(e.sessionId())).hasSize(1);
        assertThat(meters.get("vdi.session.time.to.desktop").tag("pool", "stopping-peer").timer().count())
                .as("its time to desktop is recorded once").isEqualTo(1);
    }

    @Test
    void aRequestWhoseSessionWriteWasRefusedByAStoppingPeerIsAskedAgain() {
        readyPool("stopping-peer-session", 2);
        Refuses refusing = Refuses.stopping(v -> v instanceof SessionState s && "asked-again".equals(s.user()));
        Response response = withRefusals(CacheNames.SESSIONS, refusing,
                () -> Api.requestDesktop(Tokens.user("asked-again", "/engineering"), "stopping-peer-session"));
        assertThat(response.statusCode()).as(response.body().asString()).isEqualTo(200);
        assertThat(refusing.refused.get()).as("the session's first write was refused").isEqualTo(1);
        assertThat(response.jsonPath().getString("state")).isEqualTo("READY");
        // the user has that one session; the desktop claimed for the refused one goes back to the pool
        assertThat(Api.requestDesktop(Tokens.user("asked-again", "/engineering"), "stopping-peer-session")
                .jsonPath().getString("id")).isEqualTo(response.jsonPath().getString("id"));
    }

    @Test
    void anyOtherFailureIsNotAskedAgain() {
        readyPool("stopping-peer-other", 1);
        Refuses refusing = new Refuses(v -> v instanceof SessionState s && "not-asked-again".equals(s.user()),
                () -> new CacheException("a failure that is not a stopping peer's"), Integer.MAX_VALUE);
        Response response = withRefusals(CacheNames.SESSIONS, refusing,
                () -> Api.requestDesktop(Tokens.user("not-asked-again", "/engineering"), "stopping-peer-other"));
        assertThat(response.statusCode()).isEqualTo(500);
        assertThat(response.contentType()).startsWith("application/problem+json");
        assertThat(refusing.refused.get()).as("written once, not again").isEqualTo(1);
    }

    private static void readyPool(String poolId, int ready) {
        Api.simulator("sim-" + poolId, 10, 50, 50);
        Api.createPool(Api.pool(poolId, "floating", ready, ready, ready + 2, "sim-" + poolId,
                List.of("/engineering")));
        await("ready desktops", Duration.ofSeconds(30), () -> Api.desktopsIn(poolId, "READY") >= ready);
    }

    private Response withRefusals(String cacheName, Refuses refusing, Supplier<Response> call) {
        AsyncInterceptorChain chain = ComponentRegistry.of(manager.getCache(cacheName))
                .getComponent(AsyncInterceptorChain.class);
        chain.addInterceptor(refusing, 0);
        try {
            return call.get();
        } finally {
            chain.removeInterceptor(Refuses.class);
        }
    }

    /** Refuses the first {@code times} writes of a value that {@code matches}, throwing what {@code failure} gives. */
    static final class Refuses extends BaseAsyncInterceptor {
        private final Predicate<Object> matches;
        private final Supplier<RuntimeException> failure;
        private final int times;
        final AtomicInteger refused = new AtomicInteger();

        Refuses(Predicate<Object> matches, Supplier<RuntimeException> failure, int times) {
            this.matches = matches;
            this.failure = failure;
            this.times = times;
        }

        /** Refuses once, as a cache that is stopping does. */
        static Refuses stopping(Predicate<Object> matches) {
            return new Refuses(matches,
                    () -> new IllegalLifecycleStateException("ISPN000324: Cache is in 'STOPPING' state"), 1);
        }

        @Override
        public Object visitCommand(InvocationContext ctx, VisitableCommand command) throws Throwable {
            if (command instanceof PutKeyValueCommand put && matches.test(put.getValue())
                    && refused.getAndUpdate(n -> n < times ? n + 1 : n) < times) {
                throw failure.get();
            }
            return invokeNext(ctx, command);
        }
    }
}
