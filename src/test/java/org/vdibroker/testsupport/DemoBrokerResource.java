package org.vdibroker.testsupport;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/** Runs the packaged broker as the README's run command does: embedded defaults with the demo pool. */
public class DemoBrokerResource implements QuarkusTestResourceLifecycleManager {

    @Override
    public Map<String, String> start() {
        return Map.of(
                "broker.demo.enabled", "true",
                "broker.data-dir", "./target/it-data-" + System.nanoTime(),
                "quarkus.http.host", "127.0.0.1");
    }

    @Override
    public void stop() {
    }
}
