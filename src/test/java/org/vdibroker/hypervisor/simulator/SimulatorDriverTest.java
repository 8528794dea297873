package org.vdibroker.hypervisor.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.tuple;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.infinispan.Cache;
import org.infinispan.configuration.cache.ConfigurationBuilder;
import org.infinispan.configuration.global.GlobalConfigurationBuilder;
import org.infinispan.manager.DefaultCacheManager;
import org.infinispan.manager.EmbeddedCacheManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.vdibroker.cluster.CacheNames;
import org.vdibroker.hypervisor.ConsoleAddress;
import org.vdibroker.hypervisor.DriverProperty;
import org.vdibroker.hypervisor.HostCapacity;
import org.vdibroker.hypervisor.HostUsage;
import org.vdibroker.hypervisor.HypervisorDefinition;
import org.vdibroker.hypervisor.HypervisorDriver;
import org.vdibroker.hypervisor.HypervisorException;
import org.vdibroker.hypervisor.InvalidHypervisorConfigException;
import org.vdibroker.hypervisor.ProvisionSpec;
import org.vdibroker.hypervisor.SupportsConsoleTicket;
import org.vdibroker.hypervisor.SupportsGuestIp;
import org.vdibroker.hypervisor.SupportsLinkedClone;
import org.vdibroker.hypervisor.TaskRef;
import org.vdibroker.hypervisor.TaskStatus;
import org.vdibroker.hypervisor.VmInfo;
import org.vdibroker.hypervisor.VmInfo.PowerState;
import org.vdibroker.testsupport.SettableClock;

class SimulatorDriverTest {

    private static final Instant T0 = Instant.parse("2025-03-03T08:00:00Z");
    private static final HostCapacity ROOMY = new HostCapacity(256, 1_048_576, 200);

    private static EmbeddedCacheManager manager;

    private final SettableClock clock = new SettableClock(T0);
    private SimulatorDriverFactory factory;
    private SimulatorControl control;

    @BeforeAll
    static void startCache() {
        manager = new DefaultCacheManager(new GlobalConfigurationBuilder().nonClusteredDefault().build());
        manager.defineConfiguration(CacheNames.SIMULATOR_VMS, new ConfigurationBuilder().build());
    }

    @AfterAll
    static void stopCache() {
        manager.stop();
    }

    @BeforeEach
    void emptyHosts() {
        cache().clear();
        factory = new SimulatorDriverFactory(manager, clock);
        control = new SimulatorControl(manager, clock);
    }

    @Test
    void provisionAndPowerOnCompleteExactlyWhenTheirLatencyHasPassed() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());

        TaskRef clone = done(driver.provision(spec("pool-a-1")));
        String vmRef = clone.vmRef();
        assertThat(clone.taskId()).startsWith(vmRef + ":");
        assertThat(done(driver.pollTask(clone))).isEqualTo(TaskStatus.running(Duration.ofMillis(2000)));
        assertThat(done(driver.listVms("")))
                .containsExactly(new VmInfo(vmRef, "pool-a-1", PowerState.STOPPED, 2, 4096));

        clock.advance(Duration.ofMillis(1999));
        assertThat(done(driver.pollTask(clone))).isEqualTo(TaskStatus.running(Duration.ofMillis(1)));
        clock.advance(Duration.ofMillis(1));
        assertThat(done(driver.pollTask(clone))).isEqualTo(TaskStatus.succeeded(vmRef));
        assertThat(done(driver.listVms("")).get(0).power()).isEqualTo(PowerState.STOPPED);

        TaskRef boot = done(driver.powerOn(vmRef));
        assertThat(done(driver.pollTask(boot))).isEqualTo(TaskStatus.running(Duration.ofMillis(3000)));
        clock.advance(Duration.ofMillis(2999));
        assertThat(done(driver.pollTask(boot)).state()).isEqualTo(TaskStatus.State.RUNNING);
        assertThat(done(driver.listVms("")).get(0).power()).isEqualTo(PowerState.STOPPED);
        clock.advance(Duration.ofMillis(1));
        assertThat(done(driver.pollTask(boot))).isEqualTo(TaskStatus.succeeded(vmRef));
        assertThat(done(driver.listVms("")).get(0).power()).isEqualTo(PowerState.RUNNING);
        // the clone task, polled late, still reports how it ended
        assertThat(done(driver.pollTask(clone))).isEqualTo(TaskStatus.succeeded(vmRef));

        TaskRef stop = done(driver.powerOff(vmRef));
        assertThat(done(driver.pollTask(stop))).isEqualTo(TaskStatus.succeeded(vmRef));
        assertThat(done(driver.listVms("")).get(0).power()).isEqualTo(PowerState.STOPPED);
    }

    @Test
    void aBusyVmRefusesAnotherOperationRetryablyUntilTheFirstCompletes() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());
        TaskRef clone = done(driver.provision(spec("pool-a-1")));

        HypervisorException busy = failure(driver.powerOn(clone.vmRef()));
        assertThat(busy.retryable()).isTrue();
        assertThat(busy.getMessage()).contains("busy");

        clock.advance(Duration.ofSeconds(2));
        TaskRef boot = done(driver.powerOn(clone.vmRef()));
        assertThat(done(driver.pollTask(boot)).state()).isEqualTo(TaskStatus.State.RUNNING);
    }

    @Test
    void startingAVmThatIsStartingOrRunningAnswersWithItsStart() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());
        String vmRef = done(driver.provision(spec("pool-a-1"))).vmRef();
        clock.advance(Duration.ofSeconds(2));
        TaskRef boot = done(driver.powerOn(vmRef));

        clock.advance(Duration.ofSeconds(1));
        assertThat(done(driver.powerOn(vmRef))).as("asked again while it boots").isEqualTo(boot);
        assertThat(done(driver.pollTask(boot))).isEqualTo(TaskStatus.running(Duration.ofMillis(2000)));
        clock.advance(Duration.ofSeconds(2));
        TaskRef again = done(driver.powerOn(vmRef));
        assertThat(done(driver.pollTask(again))).as("asked again once it runs").isEqualTo(TaskStatus.succeeded(vmRef));
        assertThat(done(driver.listVms("")).get(0).power()).isEqualTo(PowerState.RUNNING);
    }

    @Test
    void lostAnswersOfProvisionsAndStartsFailTheCallButTheWorkIsDone() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());
        control.loseNextProvisionAnswers("h1", 1);
        HypervisorException lost = failure(driver.provision(spec("pool-a-1")));
        assertThat(lost.unreachable()).isTrue();
        assertThat(done(driver.listVms(""))).extracting(VmInfo::name).as("made all the same")
                .containsExactly("pool-a-1");
        String vmRef = done(driver.listVms("")).get(0).vmRef();
        assertThat(done(driver.provision(spec("pool-a-2"))).vmRef()).as("only the next one lost").isNotEqualTo(vmRef);

        clock.advance(Duration.ofSeconds(2));
        control.loseNextPowerOnAnswers("h1", 1);
        assertThat(failure(driver.powerOn(vmRef)).unreachable()).isTrue();
        clock.advance(Duration.ofSeconds(3));
        assertThat(done(driver.listVms("pool-a-1")).get(0).power()).as("started all the same")
                .isEqualTo(PowerState.RUNNING);
    }

    @Test
    void revertTakesTheCloneLatencyAndLeavesTheVmPoweredOffWithItsNewMetadata() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of("cloneLatencyMs", "500", "bootLatencyMs", "100"));
        String vmRef = runningVm(driver, "pool-a-1");

        assertThat(control.guestMetadata("h1", vmRef)).containsEntry("agentSecret", "secret-of-pool-a-1");
        TaskRef revert = done(driver.revert(vmRef, Map.of("agentSecret", "renewed")));
        assertThat(control.guestMetadata("h1", vmRef)).containsEntry("agentSecret", "renewed");
        assertThat(done(driver.listVms("")).get(0).power()).isEqualTo(PowerState.STOPPED);
        assertThat(done(driver.pollTask(revert))).isEqualTo(TaskStatus.running(Duration.ofMillis(500)));
        clock.advance(Duration.ofMillis(500));
        assertThat(done(driver.pollTask(revert))).isEqualTo(TaskStatus.succeeded(vmRef));
        assertThat(done(driver.listVms("")).get(0).power()).isEqualTo(PowerState.STOPPED);
    }

    @Test
    void provisionIsRefusedForGoodWhenAnyCapacityLimitWouldBeExceeded() {
        SimulatorDriver twoDesktops = driver("desktops", new HostCapacity(100, 100_000, 2), Map.of());
        done(twoDesktops.provision(spec("a-1")));
        done(twoDesktops.provision(spec("a-2")));
        HypervisorException full = failure(twoDesktops.provision(spec("a-3")));
        assertThat(full.retryable()).isFalse();
        assertThat(full.getMessage()).contains("desktops");
        assertThat(done(twoDesktops.usage())).isEqualTo(new HostUsage(new HostCapacity(100, 100_000, 2), 4, 8192, 2));

        SimulatorDriver threeVcpus = driver("vcpus", new HostCapacity(3, 100_000, 10), Map.of());
        done(threeVcpus.provision(spec("a-1")));
        HypervisorException noCpu = failure(threeVcpus.provision(spec("a-2")));
        assertThat(noCpu.retryable()).isFalse();
        assertThat(noCpu.getMessage()).contains("vcpus");

        SimulatorDriver sixGigabytes = driver("memory", new HostCapacity(100, 6000, 10), Map.of());
        done(sixGigabytes.provision(spec("a-1")));
        HypervisorException noMemory = failure(sixGigabytes.provision(spec("a-2")));
        assertThat(noMemory.retryable()).isFalse();
        assertThat(noMemory.getMessage()).contains("memoryMb");
        assertThat(done(sixGigabytes.usage()).desktops()).isEqualTo(1);
    }

    @Test
    void deleteFreesCapacity() {
        HostCapacity oneDesktop = new HostCapacity(4, 8192, 1);
        SimulatorDriver driver = driver("h1", oneDesktop, Map.of());
        TaskRef first = done(driver.provision(spec("a-1")));
        assertThat(failure(driver.provision(spec("a-2"))).retryable()).isFalse();

        TaskRef deletion = done(driver.delete(first.vmRef()));
        assertThat(done(driver.pollTask(deletion))).isEqualTo(TaskStatus.succeeded(first.vmRef()));
        assertThat(done(driver.usage())).isEqualTo(new HostUsage(oneDesktop, 0, 0, 0));
        assertThat(done(driver.listVms(""))).isEmpty();

        TaskRef second = done(driver.provision(spec("a-2")));
        assertThat(second.vmRef()).isNotEqualTo(first.vmRef());
        assertThat(done(driver.usage())).isEqualTo(new HostUsage(oneDesktop, 2, 4096, 1));
    }

    @Test
    void failureRateOneFailsEveryProvisionAndTheHostCleansUpTheFailedClone() {
        HostCapacity oneDesktop = new HostCapacity(4, 8192, 1);
        SimulatorDriver driver = driver("h1", oneDesktop, Map.of("failureRate", "1.0", "cloneLatencyMs", "1000"));
        TaskRef clone = done(driver.provision(spec("a-1")));
        assertThat(done(driver.pollTask(clone)).state()).isEqualTo(TaskStatus.State.RUNNING);

        clock.advance(Duration.ofSeconds(1));
        TaskStatus status = done(driver.pollTask(clone));
        assertThat(status.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(status.retryable()).isTrue();
        assertThat(done(driver.pollTask(clone)).state()).isEqualTo(TaskStatus.State.FAILED);
        // the broker never learns a failed clone's ref, so the host must not keep it
        assertThat(done(driver.listVms(""))).isEmpty();
        assertThat(done(driver.usage())).isEqualTo(new HostUsage(oneDesktop, 0, 0, 0));
        assertThat(failure(driver.powerOn(clone.vmRef())).retryable()).isFalse();

        for (int i = 0; i < 20; i++) {
            TaskRef next = done(driver.provision(spec("b-" + i)));
            clock.advance(Duration.ofSeconds(1));
            assertThat(done(driver.pollTask(next)).state()).isEqualTo(TaskStatus.State.FAILED);
        }
    }

    @Test
    void aFailedCloneIsCleanedUpWhenTheHostIsListedToo() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of("failureRate", "1"));
        done(driver.provision(spec("a-1")));
        assertThat(done(driver.usage()).desktops()).isEqualTo(1); // a running clone holds its resources

        clock.advance(Duration.ofSeconds(2));
        assertThat(done(driver.listVms("a-"))).isEmpty();
        assertThat(done(driver.usage()).desktops()).isZero();
    }

    @Test
    void failNextProvisionsFailsExactlyThatMany() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());
        control.failNextProvisions("h1", 2);
        List<TaskRef> clones = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            clones.add(done(driver.provision(spec("a-" + i))));
        }
        clock.advance(Duration.ofSeconds(2));
        assertThat(clones).extracting(clone -> done(driver.pollTask(clone)).state())
                .containsExactly(TaskStatus.State.FAILED, TaskStatus.State.FAILED, TaskStatus.State.SUCCEEDED);
    }

    @Test
    void anUnreachableHostFailsEveryCallRetryablyAndRecovers() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());
        SimulatorDriver otherHost = driver("h2", ROOMY, Map.of());
        String vmRef = runningVm(driver, "a-1");
        TaskRef clone = done(driver.provision(spec("a-2")));

        control.setUnreachable("h1", true);
        List<CompletionStage<?>> calls = List.of(driver.usage(), driver.listVms(""), driver.provision(spec("a-3")),
                driver.powerOn(vmRef), driver.powerOff(vmRef), driver.revert(vmRef, Map.of()), driver.delete(vmRef),
                driver.pollTask(clone), driver.consoleAddress(vmRef, "vnc"), driver.guestIp(vmRef),
                driver.setConsolePassword(vmRef, "pw", clock.instant().plusSeconds(60)));
        for (CompletionStage<?> call : calls) {
            HypervisorException lost = failure(call);
            assertThat(lost.retryable()).isTrue();
            assertThat(lost.getMessage()).isEqualTo("hypervisor unreachable");
        }
        assertThat(done(otherHost.usage()).desktops()).isZero(); // other hosts go on

        clock.advance(Duration.ofSeconds(2));
        control.setUnreachable("h1", false);
        assertThat(done(driver.pollTask(clone))).isEqualTo(TaskStatus.succeeded(clone.vmRef()));
        assertThat(done(driver.usage()).desktops()).isEqualTo(2);
        assertThat(done(driver.listVms(""))).extracting(VmInfo::power)
                .containsExactly(PowerState.RUNNING, PowerState.STOPPED);
    }

    @Test
    void anUnknownVmIsRefusedForGood() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());
        List<CompletionStage<?>> calls = List.of(driver.powerOn("vm-404"), driver.powerOff("vm-404"),
                driver.revert("vm-404", Map.of()), driver.delete("vm-404"), driver.consoleAddress("vm-404", "vnc"),
                driver.guestIp("vm-404"), driver.setConsolePassword("vm-404", "pw", T0.plusSeconds(60)),
                driver.pollTask(new TaskRef("h1", "nonsense", "vm-404")));
        for (CompletionStage<?> call : calls) {
            assertThat(failure(call).retryable()).isFalse();
        }
    }

    @Test
    void aConsolePasswordWorksOnceAndNotAfterItExpires() throws IOException {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());
        String vmRef = runningVm(driver, "a-1");

        done(driver.setConsolePassword(vmRef, "ticket-one-8Hq2", clock.instant().plusSeconds(60)));
        assertThat(control.authenticateConsole("h1", vmRef, "wrong")).isFalse();
        assertThat(control.authenticateConsole("h1", vmRef, "ticket-one-8Hq2")).isTrue();
        assertThat(control.authenticateConsole("h1", vmRef, "ticket-one-8Hq2")).isFalse();

        done(driver.setConsolePassword(vmRef, "ticket-two-Zp4k", clock.instant().plusSeconds(60)));
        for (Object value : cache().values()) {
            assertThat(value.toString()).doesNotContain("ticket-two-Zp4k");
            assertThat(new String(serialize(value), StandardCharsets.ISO_8859_1)).doesNotContain("ticket-two-Zp4k");
        }
        clock.advance(Duration.ofSeconds(60));
        assertThat(control.authenticateConsole("h1", vmRef, "ticket-two-Zp4k")).isFalse();

        done(driver.setConsolePassword(vmRef, "ticket-three-Q9", clock.instant().plusSeconds(60)));
        done(driver.revert(vmRef, Map.of()));
        clock.advance(Duration.ofSeconds(2));
        done(driver.powerOn(vmRef));
        clock.advance(Duration.ofSeconds(3));
        assertThat(control.authenticateConsole("h1", vmRef, "ticket-three-Q9")).isFalse(); // revert cleared it
    }

    @Test
    void consolesAreOnTheConsoleHostAndRdpOnTheGuestAddress() {
        Map<String, String> config = Map.of("consoleHost", "sim.example", "consoleBasePort", "15900");
        SimulatorDriver driver = driver("h1", ROOMY, config);
        TaskRef clone = done(driver.provision(spec("a-1")));
        String vmRef = clone.vmRef();

        ConsoleAddress vnc = done(driver.consoleAddress(vmRef, "vnc"));
        assertThat(vnc.protocol()).isEqualTo("vnc");
        assertThat(vnc.host()).isEqualTo("sim.example");
        assertThat(vnc.port()).isBetween(15900, 65535);
        assertThat(done(driver.consoleAddress(vmRef, "SPICE")))
                .isEqualTo(new ConsoleAddress("spice", "sim.example", vnc.port()));
        assertThat(done(driver.guestIp(vmRef))).isEmpty();
        assertThat(failure(driver.consoleAddress(vmRef, "rdp")).retryable()).isTrue();
        assertThat(failure(driver.consoleAddress(vmRef, "x11")).retryable()).isFalse();

        clock.advance(Duration.ofSeconds(2));
        done(driver.powerOn(vmRef));
        clock.advance(Duration.ofSeconds(3));
        Optional<String> ip = done(driver.guestIp(vmRef));
        assertThat(ip).hasValueSatisfying(address -> assertThat(address)
                .matches("(192\\.0\\.2|198\\.51\\.100)\\.([1-9]|[1-9]\\d|1\\d\\d|2[0-4]\\d|25[0-4])"));
        assertThat(done(driver.consoleAddress(vmRef, "rdp"))).isEqualTo(new ConsoleAddress("rdp", ip.get(), 3389));
        HypervisorDriver sameHostOtherNode = new SimulatorDriverFactory(manager, clock)
                .create(definition("h1", ROOMY, config));
        assertThat(done(((SupportsGuestIp) sameHostOtherNode).guestIp(vmRef))).isEqualTo(ip);
        assertThat(done(sameHostOtherNode.consoleAddress(vmRef, "vnc"))).isEqualTo(vnc);

        TaskRef second = done(driver.provision(spec("a-2")));
        assertThat(done(driver.consoleAddress(second.vmRef(), "vnc")).port()).isNotEqualTo(vnc.port());
    }

    @Test
    void listVmsFiltersByNamePrefixAndShowsOnlyItsOwnHost() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());
        SimulatorDriver otherHost = driver("h2", ROOMY, Map.of());
        done(driver.provision(spec("pool-a-1")));
        done(driver.provision(spec("pool-a-2")));
        done(driver.provision(spec("pool-b-1")));
        done(otherHost.provision(spec("pool-a-9")));

        assertThat(done(driver.listVms("pool-a-"))).extracting(VmInfo::name).containsExactly("pool-a-1", "pool-a-2");
        assertThat(done(driver.listVms(""))).extracting(VmInfo::name)
                .containsExactly("pool-a-1", "pool-a-2", "pool-b-1");
        assertThat(done(driver.listVms("pool-c-"))).isEmpty();
    }

    @Test
    void listVmsFindsEveryVmOfABigHostAfterDeletions() {
        SimulatorDriver driver = driver("h1", new HostCapacity(10_000, 10_000_000, 1000), Map.of());
        List<String> kept = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            TaskRef clone = done(driver.provision(spec("a-" + i)));
            if (i % 3 == 0) {
                done(driver.delete(clone.vmRef()));
            } else {
                kept.add(clone.vmRef());
            }
        }
        assertThat(done(driver.listVms("a-"))).extracting(VmInfo::vmRef).containsExactlyElementsOf(kept);
    }

    @Test
    void vmsChangedOnTheHostItselfShowInListsAndUsage() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());
        TaskRef clone = done(driver.provision(spec("pool-a-1")));

        String stranger = control.createVm("h1", "pool-a-stranger");
        assertThat(done(driver.listVms("pool-a-"))).extracting(VmInfo::vmRef, VmInfo::power)
                .containsExactly(tuple(clone.vmRef(), PowerState.STOPPED), tuple(stranger, PowerState.RUNNING));
        assertThat(done(driver.usage()).desktops()).isEqualTo(2);

        assertThat(control.deleteVmBehindBrokersBack("h1", clone.vmRef())).isTrue();
        TaskStatus lost = done(driver.pollTask(clone));
        assertThat(lost.state()).isEqualTo(TaskStatus.State.FAILED);
        assertThat(lost.retryable()).isFalse();
        assertThat(done(driver.listVms(""))).extracting(VmInfo::vmRef).containsExactly(stranger);
        assertThat(done(driver.usage()).desktops()).isEqualTo(1);
        assertThat(failure(driver.powerOn(clone.vmRef())).retryable()).isFalse();
        assertThat(control.deleteVmBehindBrokersBack("h1", clone.vmRef())).isFalse();
    }

    @Test
    void theGuestSeesTheMetadataItWasProvisionedWith() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());
        ProvisionSpec spec = new ProvisionSpec("a-1", "gold", 2, 4096,
                Map.of("agentSecret", "s3cr3t", "brokerUrl", "https://broker.example"));
        TaskRef clone = done(driver.provision(spec));

        assertThat(control.guestMetadata("h1", clone.vmRef())).isEqualTo(spec.metadata());
        assertThatThrownBy(() -> control.guestMetadata("h1", "vm-404")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aDriverOnASecondNodeSeesAndPollsTheSameTasks() {
        HypervisorDefinition definition = definition("h1", ROOMY, Map.of());
        HypervisorDriver nodeA = new SimulatorDriverFactory(manager, clock).create(definition);
        HypervisorDriver nodeB = new SimulatorDriverFactory(manager, clock).create(definition);

        TaskRef clone = done(nodeA.provision(spec("a-1")));
        assertThat(done(nodeB.pollTask(clone)).state()).isEqualTo(TaskStatus.State.RUNNING);
        assertThat(done(nodeB.listVms(""))).extracting(VmInfo::vmRef).containsExactly(clone.vmRef());
        clock.advance(Duration.ofSeconds(2));
        assertThat(done(nodeB.pollTask(clone))).isEqualTo(TaskStatus.succeeded(clone.vmRef()));

        TaskRef boot = done(nodeB.powerOn(clone.vmRef()));
        clock.advance(Duration.ofSeconds(3));
        assertThat(done(nodeA.pollTask(boot))).isEqualTo(TaskStatus.succeeded(clone.vmRef()));
        assertThat(done(nodeA.listVms(""))).extracting(VmInfo::power).containsExactly(PowerState.RUNNING);

        TaskRef fromB = done(nodeB.provision(spec("a-2")));
        assertThat(fromB.vmRef()).isNotEqualTo(clone.vmRef());
        assertThat(done(nodeA.usage())).isEqualTo(done(nodeB.usage()));
        assertThat(done(nodeA.usage()).desktops()).isEqualTo(2);

        control.setUnreachable("h1", true);
        assertThat(failure(nodeB.usage()).retryable()).isTrue();
    }

    @Test
    void latencyJitterKeepsEachLatencyWithinItsBounds() {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of("cloneLatencyMs", "1000", "latencyJitter", "0.5"));
        Set<Duration> latencies = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            TaskRef clone = done(driver.provision(spec("a-" + i)));
            Duration latency = done(driver.pollTask(clone)).retryAfter();
            assertThat(latency).isBetween(Duration.ofMillis(500), Duration.ofMillis(1500));
            latencies.add(latency);
        }
        assertThat(latencies).hasSizeGreaterThan(10);
    }

    @Test
    void theFactoryNamesTheOffendingPropertyAndDefaultsTheRest() {
        assertThat(factory.id()).isEqualTo("simulator");
        assertThat(factory.properties()).extracting(DriverProperty::name).containsExactlyInAnyOrder("cloneLatencyMs",
                "bootLatencyMs", "latencyJitter", "failureRate", "consoleHost", "consoleBasePort");
        assertThat(factory.properties()).noneMatch(DriverProperty::secret);

        factory.validate(definition("h1", ROOMY, Map.of()));
        factory.validate(definition("h1", ROOMY, Map.of("cloneLatencyMs", "0", "bootLatencyMs", "10",
                "latencyJitter", "1", "failureRate", "0.25", "consoleHost", "10.1.2.3", "consoleBasePort", "65535")));

        Map<String, Map<String, String>> refused = Map.of(
                "cloneLatencyMs", Map.of("cloneLatencyMs", "-1"),
                "bootLatencyMs", Map.of("bootLatencyMs", "soon"),
                "latencyJitter", Map.of("latencyJitter", "1.5"),
                "failureRate", Map.of("failureRate", "NaN"),
                "consoleHost", Map.of("consoleHost", " "),
                "consoleBasePort", Map.of("consoleBasePort", "70000"),
                "cloneLatencyMS", Map.of("cloneLatencyMS", "10"));
        refused.forEach((property, config) -> {
            Throwable thrown = catchThrowable(() -> factory.validate(definition("h1", ROOMY, config)));
            assertThat(thrown).isInstanceOf(InvalidHypervisorConfigException.class).hasMessageContaining(property);
            assertThat(((InvalidHypervisorConfigException) thrown).property()).isEqualTo(property);
        });
        assertThat(catchThrowable(() -> factory.validate(definition("h1", new HostCapacity(8, 0, 4), Map.of()))))
                .isInstanceOfSatisfying(InvalidHypervisorConfigException.class,
                        e -> assertThat(e.property()).isEqualTo("memoryMb"));
        assertThat(catchThrowable(() -> factory.create(definition("h1", null, Map.of()))))
                .isInstanceOfSatisfying(InvalidHypervisorConfigException.class,
                        e -> assertThat(e.property()).isEqualTo("capacity"));

        HypervisorDriver driver = factory.create(definition("h1", ROOMY, Map.of()));
        assertThat(driver).isInstanceOf(SupportsConsoleTicket.class).isInstanceOf(SupportsLinkedClone.class)
                .isInstanceOf(SupportsGuestIp.class);
    }

    @Test
    void everythingStoredSurvivesJavaSerializationUnchanged() throws Exception {
        SimulatorDriver driver = driver("h1", ROOMY, Map.of());
        String vmRef = runningVm(driver, "a-1");
        done(driver.setConsolePassword(vmRef, "pw", clock.instant().plusSeconds(60)));
        done(driver.provision(spec("a-2")));
        control.createVm("h1", "stranger");
        control.failNextProvisions("h1", 3);

        assertThat(cache()).isNotEmpty();
        for (Map.Entry<Object, Object> entry : cache().entrySet()) {
            assertThat(deserialize(serialize(entry.getKey()))).isEqualTo(entry.getKey());
            assertThat(deserialize(serialize(entry.getValue()))).isEqualTo(entry.getValue());
        }
    }

    @Test
    void carries100000DesktopsOver1000HypervisorsWithoutAThreadPerVm() {
        int hosts = 1000;
        int perHost = 100;
        HostCapacity capacity = new HostCapacity(400, 819_200, perHost);
        Map<String, SimulatorDriver> byId = new HashMap<>();
        List<SimulatorDriver> drivers = new ArrayList<>();
        for (int h = 0; h < hosts; h++) {
            SimulatorDriver driver = driver("bench-" + h, capacity, Map.of());
            byId.put("bench-" + h, driver);
            drivers.add(driver);
        }
        int threadsBefore = Thread.activeCount();
        long start = System.nanoTime();

        List<TaskRef> clones = new ArrayList<>(hosts * perHost);
        for (int i = 0; i < perHost; i++) {
            for (SimulatorDriver driver : drivers) {
                clones.add(done(driver.provision(spec("bench-" + i))));
            }
        }
        long provisioned = System.nanoTime();
        clock.advance(Duration.ofSeconds(2));
        List<TaskRef> boots = new ArrayList<>(clones.size());
        for (TaskRef clone : clones) {
            SimulatorDriver driver = byId.get(clone.hypervisorId());
            assertThat(done(driver.pollTask(clone)).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
            boots.add(done(driver.powerOn(clone.vmRef())));
        }
        clock.advance(Duration.ofSeconds(3));
        for (TaskRef boot : boots) {
            assertThat(done(byId.get(boot.hypervisorId()).pollTask(boot)).state())
                    .isEqualTo(TaskStatus.State.SUCCEEDED);
        }
        long finished = System.nanoTime();

        for (SimulatorDriver driver : drivers) {
            assertThat(done(driver.usage())).isEqualTo(new HostUsage(capacity, 2 * perHost, 4096L * perHost, perHost));
        }
        assertThat(done(drivers.get(500).listVms("bench-"))).hasSize(perHost)
                .allMatch(vm -> vm.power() == PowerState.RUNNING);
        assertThat(failure(drivers.get(0).provision(spec("one-too-many"))).retryable()).isFalse();
        // one entry per VM, per host and per page of a host's VM list: nothing else grows with the desktops
        int pagesPerHost = perHost / SimulatorStore.PAGE_SIZE + 1; // VM numbers start at 1
        assertThat(cache().size()).isEqualTo(hosts * perHost + hosts + hosts * pagesPerHost);
        // neither a thread per VM (100,000) nor per host (1,000); the bound leaves room for the other threads this
        // test JVM starts meanwhile (Infinispan and Quarkus pools of other tests: 15 were seen in one run)
        assertThat(Thread.activeCount() - threadsBefore).isLessThan(hosts / 10);

        Runtime runtime = Runtime.getRuntime();
        System.gc();
        System.out.printf("simulator: %d desktops on %d hypervisors: provision %d ms, poll+power on+poll %d ms,"
                + " heap used %d MB%n", hosts * perHost, hosts, (provisioned - start) / 1_000_000,
                (finished - provisioned) / 1_000_000, (runtime.totalMemory() - runtime.freeMemory()) >> 20);
    }

    // --- helpers

    private static Cache<Object, Object> cache() {
        return manager.getCache(CacheNames.SIMULATOR_VMS);
    }

    private SimulatorDriver driver(String id, HostCapacity capacity, Map<String, String> config) {
        return (SimulatorDriver) factory.create(definition(id, capacity, config));
    }

    private static HypervisorDefinition definition(String id, HostCapacity capacity, Map<String, String> config) {
        return new HypervisorDefinition(id, "simulator", "simulator://" + id, config, Map.of(), capacity);
    }

    private static ProvisionSpec spec(String name) {
        return new ProvisionSpec(name, "win11-gold", 2, 4096, Map.of("agentSecret", "secret-of-" + name));
    }

    /** Provisions and boots a VM with the driver's latencies; returns its ref. */
    private String runningVm(SimulatorDriver driver, String name) {
        TaskRef clone = done(driver.provision(spec(name)));
        clock.advance(Duration.ofDays(1)); // longer than any latency the tests configure
        assertThat(done(driver.pollTask(clone)).state()).isEqualTo(TaskStatus.State.SUCCEEDED);
        done(driver.powerOn(clone.vmRef()));
        clock.advance(Duration.ofDays(1));
        assertThat(done(driver.listVms(name))).extracting(VmInfo::power).containsExactly(PowerState.RUNNING);
        return clone.vmRef();
    }

    /** The value of a stage that the driver must have completed already. */
    private static <T> T done(CompletionStage<T> stage) {
        CompletableFuture<T> future = stage.toCompletableFuture();
        assertThat(future).isDone();
        return future.join();
    }

    private static HypervisorException failure(CompletionStage<?> stage) {
        CompletableFuture<?> future = stage.toCompletableFuture();
        assertThat(future).isCompletedExceptionally();
        Throwable thrown = catchThrowable(future::join);
        assertThat(thrown).isInstanceOf(CompletionException.class).hasCauseInstanceOf(HypervisorException.class);
        return (HypervisorException) thrown.getCause();
    }

    private static byte[] serialize(Object value) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        }
        return bytes.toByteArray();
    }

    private static Object deserialize(byte[] bytes) throws IOException, ClassNotFoundException {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            return in.readObject();
        }
    }
}
