package org.vdibroker.hypervisor.hyperv;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.ProvisionSpec;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.TaskStatus;
import org.vdibroker.hypervisor.VmInfo;

/**
 * The driver against a real Hyper-V host, for operators: skipped unless {@code -Dhyperv.test.endpoint} is given (see
 * src/site/markdown/hypervisors/hyperv.md). Makes one VM and removes it again.
 */
@EnabledIfSystemProperty(named = "hyperv.test.endpoint", matches = ".+")
class HyperVRealHostTest {

    @Test
    void aDesktopIsMadeStartedStoppedRevertedAndDeletedOnARealHost() throws Exception {
        Map<String, String> config = new HashMap<>();
        config.put("username", System.getProperty("hyperv.test.username"));
        config.put("auth", System.getProperty("hyperv.test.auth", "ntlm"));
        if (System.getProperty("hyperv.test.switch") != null) {
            config.put("switch", System.getProperty("hyperv.test.switch"));
        }
        if (System.getProperty("hyperv.test.endpoint").startsWith("http:")) {
            config.put("allowHttp", "true");
        }
        HypervisorDefinition definition = new HypervisorDefinition("real", "hyperv",
                System.getProperty("hyperv.test.endpoint"), config,
                Map.of("password", System.getProperty("hyperv.test.password", "")), new HostCapacity(0, 0, 10), 2);
        HyperVSettings settings = HyperVSettings.validate(definition);
        String name = "vdi-test-" + UUID.randomUUID().toString().substring(0, 8);
        try (HyperVDriver driver = new HyperVDriver(definition, settings, new WinRmPowerShell("real", settings),
                Clock.systemUTC())) {
            assertThat(driver.usage().toCompletableFuture().get(60, TimeUnit.SECONDS).capacity().vcpus()).isPositive();
            finish(driver, driver.provision(new ProvisionSpec(name, System.getProperty("hyperv.test.template"), 2, 2048,
                    Map.of("vdi.desktop-id", name))).toCompletableFuture().get(60, TimeUnit.SECONDS));
            try {
                assertThat(driver.listVms(name).toCompletableFuture().get(60, TimeUnit.SECONDS))
                        .extracting(VmInfo::name).containsExactly(name);
                finish(driver, driver.powerOn(name).toCompletableFuture().get(60, TimeUnit.SECONDS));
                finish(driver, driver.powerOff(name).toCompletableFuture().get(60, TimeUnit.SECONDS));
                finish(driver, driver.revert(name, Map.of()).toCompletableFuture().get(60, TimeUnit.SECONDS));
            } finally {
                finish(driver, driver.delete(name).toCompletableFuture().get(60, TimeUnit.SECONDS));
            }
        }
    }

    private static void finish(HyperVDriver driver, TaskRef task) throws Exception {
        long until = System.currentTimeMillis() + 600_000;
        while (System.currentTimeMillis() < until) {
            TaskStatus s = driver.pollTask(task).toCompletableFuture().get(60, TimeUnit.SECONDS);
            if (s.state() != TaskStatus.State.RUNNING) {
                assertThat(s.state()).as(String.valueOf(s.error())).isEqualTo(TaskStatus.State.SUCCEEDED);
                return;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("task " + task + " did not finish");
    }
}
