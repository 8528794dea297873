package org.vdibroker.access;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.infinispan.commands.VisitableCommand;
import org.infinispan.commands.write.PutKeyValueCommand;
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
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * A desktop request whose audit entry met a node shutting down (it refuses the write with its caches in STOPPING
 * state, as OutageRestartIT met it for other writes) is still audited. The request itself is asked again on such a
 * refusal and then finds the session it had already opened, so the entry has to be written again where it was refused.
 */
@QuarkusTest
class AuditOnStoppingPeerTest {

    @Inject
    EmbeddedCacheManager manager;

    @Inject
    AuditService audit;

    @Test
    void anAssignmentWhoseAuditWriteWasRefusedByAStoppingPeerIsAuditedOnce() {
        Api.simulator("sim-stopping-peer", 10, 50, 50);
        Api.createPool(Api.pool("stopping-peer", "floating", 1, 1, 3, "sim-stopping-peer", List.of("/engineering")));
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("stopping-peer", "READY") >= 1);
        AsyncInterceptorChain chain = ComponentRegistry.of(manager.getCache(CacheNames.OUTBOX))
                .getComponent(AsyncInterceptorChain.class);
        RefusesFirstAssignmentAudit refusing = new RefusesFirstAssignmentAudit("audited-through-a-stop");
        chain.addInterceptor(refusing, 0);
        try {
            Response response = Api.requestDesktop(Tokens.user("audited-through-a-stop", "/engineering"),
                    "stopping-peer");
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(refusing.refused.get()).as("the audit write was refused once").isEqualTo(1);
            String sessionId = response.jsonPath().getString("id");
            assertThat(audit.page(0, 1000)).filteredOn(e -> "desktop.assigned".equals(e.kind())
                    && sessionId.equals(e.sessionId())).hasSize(1);
        } finally {
            chain.removeInterceptor(RefusesFirstAssignmentAudit.class);
        }
    }

    /** Refuses the first write of the user's {@code desktop.assigned} entry as a cache that is stopping does. */
    static final class RefusesFirstAssignmentAudit extends BaseAsyncInterceptor {
        private final String user;
        final AtomicInteger refused = new AtomicInteger();

        RefusesFirstAssignmentAudit(String user) {
            this.user = user;
        }

        @Override
        public Object visitCommand(InvocationContext ctx, VisitableCommand command) throws Throwable {
            if (command instanceof PutKeyValueCommand put && put.getValue() instanceof AuditEvent e
                    && "desktop.assigned".equals(e.kind()) && user.equals(e.actor()) && refused.compareAndSet(0, 1)) {
                throw new IllegalLifecycleStateException("ISPN000324: Cache 'outbox' is in 'STOPPING' state");
            }
            return invokeNext(ctx, command);
        }
    }
}
