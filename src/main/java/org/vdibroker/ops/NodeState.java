package org.vdibroker.ops;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.atomic.AtomicBoolean;

/** This node's own operating state: whether it drains (takes no new work). */
@ApplicationScoped
public class NodeState {

    private final AtomicBoolean draining = new AtomicBoolean();

    public boolean draining() {
        return draining.get();
    }

    public boolean drain() {
        return draining.compareAndSet(false, true);
    }
}
