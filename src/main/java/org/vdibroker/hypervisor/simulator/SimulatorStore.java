package org.vdibroker.hypervisor.simulator;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.infinispan.Cache;
import org.infinispan.manager.EmbeddedCacheManager;
import org.infinispan.protostream.annotations.ProtoField;
import org.infinispan.protostream.annotations.ProtoName;
import org.vdibroker.cluster.CacheNames;

/**
 * The simulated hypervisors' state in cache {@code simulator-vms}: an entry per host, per VM and per page of a host's
 * VM refs. The simulator stands for external hosts, so every broker node reads and writes the same entries, and every
 * write is a conditional one (put-if-absent, replace or remove of the value just read).
 */
public final class SimulatorStore {

    static final int PAGE_SIZE = 32;

    @ProtoName("SimulatedHostKey")
    public record HostKey(@ProtoField(number = 1) String hypervisorId) implements Serializable {
    }

    @ProtoName("SimulatedVmKey")
    public record VmKey(@ProtoField(number = 1) String hypervisorId, @ProtoField(number = 2) String vmRef)
            implements Serializable {
    }

    @ProtoName("SimulatedVmPageKey")
    public record PageKey(@ProtoField(number = 1) String hypervisorId, @ProtoField(number = 2) long page)
            implements Serializable {
    }

    private final Cache<Object, Object> cache;
    private final Clock clock;

    SimulatorStore(EmbeddedCacheManager manager, Clock clock) {
        this.cache = manager.getCache(CacheNames.SIMULATOR_VMS);
        this.clock = clock;
    }

    Clock clock() {
        return clock;
    }

    SimulatedHost host(String hypervisorId) {
        SimulatedHost host = (SimulatedHost) cache.get(new HostKey(hypervisorId));
        return host == null ? SimulatedHost.EMPTY : host;
    }

    /** Applies {@code change} to the host's current entry until no other writer got in between; returns the result. */
    SimulatedHost updateHost(String hypervisorId, UnaryOperator<SimulatedHost> change) {
        HostKey key = new HostKey(hypervisorId);
        while (true) {
            SimulatedHost current = (SimulatedHost) cache.get(key);
            SimulatedHost next = change.apply(current == null ? SimulatedHost.EMPTY : current);
            if (current == null ? cache.putIfAbsent(key, next) == null : cache.replace(key, current, next)) {
                return next;
            }
        }
    }

    SimulatedVm vm(String hypervisorId, String vmRef) {
        return (SimulatedVm) cache.get(new VmKey(hypervisorId, vmRef));
    }

    /**
     * Applies {@code change} to the VM's current entry until no other writer got in between; null if there is no such
     * VM. {@code change} may throw to refuse.
     */
    SimulatedVm updateVm(String hypervisorId, String vmRef, UnaryOperator<SimulatedVm> change) {
        VmKey key = new VmKey(hypervisorId, vmRef);
        while (true) {
            SimulatedVm current = (SimulatedVm) cache.get(key);
            if (current == null) {
                return null;
            }
            SimulatedVm next = change.apply(current);
            if (next.equals(current) || cache.replace(key, current, next)) {
                return next;
            }
        }
    }

    /**
     * Adds a VM: {@code reserve} checks and counts it on the host entry (it is given the host and must return it
     * changed by {@link SimulatedHost#add}), then {@code vm} builds the entry from the VM number it got.
     */
    SimulatedVm create(String hypervisorId, UnaryOperator<SimulatedHost> reserve, LongFunction<SimulatedVm> vm) {
        SimulatedHost host = updateHost(hypervisorId, reserve);
        SimulatedVm created = vm.apply(host.lastSeq());
        cache.putIfAbsent(new VmKey(hypervisorId, created.vmRef()), created); // VM numbers are never reused
        updatePage(hypervisorId, created.seq(), refs -> refs.add(created.vmRef()));
        return created;
    }

    /** Removes a VM and gives its resources back to the host; null if there was no such VM. */
    SimulatedVm remove(String hypervisorId, String vmRef) {
        return remove(hypervisorId, vmRef, vm -> true);
    }

    /** Removes a VM if it is as {@code onlyIf} expects; null if it was not removed. */
    SimulatedVm remove(String hypervisorId, String vmRef, Predicate<SimulatedVm> onlyIf) {
        VmKey key = new VmKey(hypervisorId, vmRef);
        while (true) {
            SimulatedVm current = (SimulatedVm) cache.get(key);
            if (current == null || !onlyIf.test(current)) {
                return null;
            }
            if (cache.remove(key, current)) {
                updatePage(hypervisorId, current.seq(), refs -> refs.remove(vmRef));
                updateHost(hypervisorId, host -> host.remove(current.vcpus(), current.memoryMb()));
                return current;
            }
        }
    }

    /** Every VM of one host, read page by page. */
    List<SimulatedVm> vms(String hypervisorId) {
        long lastPage = host(hypervisorId).lastSeq() / PAGE_SIZE;
        Set<Object> pageKeys = new HashSet<>();
        for (long page = 0; page <= lastPage; page++) {
            pageKeys.add(new PageKey(hypervisorId, page));
        }
        Set<Object> vmKeys = new LinkedHashSet<>();
        for (Object page : cache.getAdvancedCache().getAll(pageKeys).values()) {
            for (String vmRef : ((SimulatedVmPage) page).vmRefs()) {
                vmKeys.add(new VmKey(hypervisorId, vmRef));
            }
        }
        List<SimulatedVm> vms = new ArrayList<>(vmKeys.size());
        for (Object vm : cache.getAdvancedCache().getAll(vmKeys).values()) {
            vms.add((SimulatedVm) vm);
        }
        return vms;
    }

    private void updatePage(String hypervisorId, long seq, Consumer<Set<String>> change) {
        PageKey key = new PageKey(hypervisorId, seq / PAGE_SIZE);
        while (true) {
            SimulatedVmPage current = (SimulatedVmPage) cache.get(key);
            Set<String> refs = current == null ? new HashSet<>() : new HashSet<>(current.vmRefs());
            change.accept(refs);
            boolean written;
            if (current == null) {
                written = refs.isEmpty() || cache.putIfAbsent(key, new SimulatedVmPage(refs)) == null;
            } else if (refs.isEmpty()) {
                written = cache.remove(key, current);
            } else {
                written = cache.replace(key, current, new SimulatedVmPage(refs));
            }
            if (written) {
                return;
            }
        }
    }

    /** Console passwords are kept only as this hash; tickets are random and short-lived, so no salt is needed. */
    static String hash(String password) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(password.getBytes(StandardCharsets.UTF_8));
            StringBuilder hex = new StringBuilder(digest.length * 2);
            for (byte b : digest) {
                hex.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
            }
            return hex.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    static boolean sameHash(String a, String b) {
        return a != null && b != null
                && MessageDigest.isEqual(a.getBytes(StandardCharsets.US_ASCII), b.getBytes(StandardCharsets.US_ASCII));
    }
}
