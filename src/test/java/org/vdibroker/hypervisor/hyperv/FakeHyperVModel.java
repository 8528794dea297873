package org.vdibroker.hypervisor.hyperv;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The Hyper-V host behind {@link FakeHyperVHost}: VMs, disks, checkpoints, power states, network adapters with guest
 * IPs, host CPUs and memory. It answers the broker's scripts by their fixed shape (see {@link HyperVScripts}): the
 * {@code # vdi-broker hyperv <operation>} tag picks the operation, the {@code $x=...} input lines give its inputs,
 * decoded as PowerShell reads single-quoted literals. The body of a script is not executed (there is no PowerShell
 * here); the golden tests pin it. Thread-safe: every method that touches the model is synchronized; a script that
 * sleeps or blocks (a start) waits on the model's monitor, so other scripts and the tests' hooks run meanwhile.
 */
public final class FakeHyperVModel {

    /** One VM as the fake host keeps it. Read it from tests; the host changes it. */
    public static final class Vm {
        public final String name;
        public final String id = UUID.randomUUID().toString();
        public volatile String state = "Off";
        public final int cpus;
        public final long memoryMb;
        public final String notes;
        public final String disk;
        public final String parentDisk;
        public final String switchName;
        public final Map<String, String> kvp = new ConcurrentHashMap<>();
        public final Set<String> checkpoints = ConcurrentHashMap.newKeySet();
        /** Blocks the guest wrote since the base checkpoint: a revert sets it back to 0. */
        public volatile int writes;
        /** A guest without working shutdown integration: only turning it off stops it. */
        public volatile boolean ignoresShutdown;
        /** How the VM last stopped: "shutdown" or "turn-off". */
        public volatile String lastStop;
        /** The guest's IPv4 address while it runs with a network; null otherwise. */
        public volatile String ip;
        /** false: the guest never reports an address (no network yet, no integration services). */
        public volatile boolean guestNetwork = true;
        /** How many times Start-VM began to start it (not counting the ones refused). */
        public volatile int startVmCalls;

        Vm(String name, int cpus, long memoryMb, String notes, String disk, String parentDisk, String switchName) {
            this.name = name;
            this.cpus = cpus;
            this.memoryMb = memoryMb;
            this.notes = notes;
            this.disk = disk;
            this.parentDisk = parentDisk;
            this.switchName = switchName;
        }
    }

    /** A script failure the test asked for: the next script of {@code operation} answers with it. */
    private record Failure(String category, String message) {
    }

    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();
    /** How long one second of a script's Start-Sleep lasts here. */
    private static final long SECOND_MS = 50;

    private final Map<String, Vm> vms = new LinkedHashMap<>();
    private final Set<String> files = ConcurrentHashMap.newKeySet();
    private final Set<String> switches = ConcurrentHashMap.newKeySet();
    private final Map<String, Failure> failures = new ConcurrentHashMap<>();
    private final List<String> scripts = new ArrayList<>();
    private boolean holdNextStart;
    private int cpus = 32;
    private long memoryMb = 131_072;
    private int nextIp = 10;

    /** The answer to one script: what PowerShell would print and its exit code. */
    record Result(int exitCode, String stdout) {
    }

    public synchronized void capacity(int cpus, long memoryMb) {
        this.cpus = cpus;
        this.memoryMb = memoryMb;
    }

    /** A file on the host, e.g. a template's parent disk. */
    public synchronized void addFile(String path) {
        files.add(path.toLowerCase());
    }

    public synchronized boolean hasFile(String path) {
        return files.contains(path.toLowerCase());
    }

    public synchronized void addSwitch(String name) {
        switches.add(name);
    }

    public synchronized Vm vm(String name) {
        return vms.get(name);
    }

    public synchronized List<Vm> vms() {
        return List.copyOf(vms.values());
    }

    /** A VM that an admin made by hand (not the broker's: no notes). */
    public synchronized Vm addForeignVm(String name) {
        Vm vm = new Vm(name, 2, 2048, "", "C:\\VMs\\" + name + ".vhdx", null, "");
        vms.put(name, vm);
        return vm;
    }

    /** The next script of {@code operation} (the tag's word, e.g. {@code start}) fails with this error. */
    public void failNext(String operation, String category, String message) {
        failures.put(operation, new Failure(category, message));
    }

    /**
     * The next Start-VM leaves its VM {@code Starting} and does not return (its script waits) until
     * {@link #finishStart}: a start in flight, e.g. of another broker node, whose guest takes its time to boot.
     */
    public synchronized void holdNextStart() {
        holdNextStart = true;
    }

    /** A held start ends: the VM runs, and the Start-VM that was waiting for it returns. */
    public synchronized void finishStart(String name) {
        Vm vm = vms.get(name);
        if (vm != null && vm.state.equals("Starting")) {
            boot(vm);
        }
        notifyAll();
    }

    /** Every script the host ran, decoded, in order. */
    public synchronized List<String> scripts() {
        return List.copyOf(scripts);
    }

    synchronized Result run(String script) {
        scripts.add(script);
        Script s;
        try {
            s = Script.parse(script);
        } catch (IllegalArgumentException e) {
            return error("ParserError", "not a vdi-broker script: " + e.getMessage());
        }
        Failure failure = failures.remove(s.operation());
        if (failure != null) {
            return error(failure.category(), failure.message());
        }
        try {
            return switch (s.operation()) {
                case "usage" -> ok(usage());
                case "list" -> ok(list(s.text("x")));
                case "provision" -> provision(s);
                // a start script without $w is the one from before the wait: it calls Start-VM at once
                case "start" -> withVm(s, vm -> start(vm, s.inputs().containsKey("w") ? s.number("w") : -1));
                case "stop" -> withVm(s, vm -> stop(vm, true));
                case "turn-off" -> withVm(s, vm -> stop(vm, false));
                case "revert" -> withVm(s, vm -> revert(vm, s.table("kvp")));
                case "delete" -> delete(s);
                case "state" -> ok(state(s.text("n")));
                default -> error("CommandNotFoundException", "unknown operation " + s.operation());
            };
        } catch (ScriptError e) {
            return error(e.category, e.getMessage());
        }
    }

    private Map<String, Object> usage() {
        int usedVcpus = 0;
        long usedMb = 0;
        int desktops = 0;
        for (Vm vm : vms.values()) {
            if (!vm.state.equals("Off")) {
                usedVcpus += vm.cpus;
                usedMb += vm.memoryMb;
            }
            if (vm.notes.startsWith(HyperVScripts.NOTES)) {
                desktops++;
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cpus", cpus);
        m.put("memoryMb", memoryMb);
        m.put("desktops", desktops);
        m.put("usedVcpus", usedVcpus);
        m.put("usedMemoryMb", usedMb);
        return m;
    }

    private List<Object> list(String prefix) {
        List<Object> list = new ArrayList<>();
        for (Vm vm : vms.values()) {
            if (vm.name.startsWith(prefix)) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", vm.id);
                m.put("name", vm.name);
                m.put("state", vm.state);
                m.put("cpus", vm.cpus);
                m.put("memoryMb", vm.memoryMb);
                list.add(m);
            }
        }
        return list;
    }

    private Result provision(Script s) {
        String name = s.text("n");
        if (vms.containsKey(name)) {
            throw new ScriptError("OperationStopped", "A VM named " + name + " exists");
        }
        String disk = s.text("d");
        String parent = s.text("p");
        files.remove(disk.toLowerCase());
        if (!hasFile(parent)) {
            throw new ScriptError("ObjectNotFound", "Failed to create the virtual hard disk. The system cannot find"
                    + " the file specified. (" + parent + ")");
        }
        String switchName = s.text("s");
        if (!switchName.isEmpty() && !switches.contains(switchName)) {
            files.remove(disk.toLowerCase()); // the script's cleanup
            throw new ScriptError("ObjectNotFound", "Hyper-V was unable to find a virtual switch with name \""
                    + switchName + "\".");
        }
        Vm vm = new Vm(name, (int) s.number("c"), s.number("m"), s.text("o"), disk, parent, switchName);
        vm.kvp.putAll(s.table("kvp"));
        vm.checkpoints.add(s.text("b"));
        files.add(disk.toLowerCase());
        vms.put(name, vm);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", vm.id);
        m.put("name", vm.name);
        m.put("state", vm.state);
        return ok(m);
    }

    /**
     * The start script: while the VM is Starting, up to {@code waitSeconds} rounds of Start-Sleep; then Start-VM
     * unless it runs or is still Starting. With {@code waitSeconds} -1 (no wait in the script) Start-VM comes at once.
     */
    private Map<String, Object> start(Vm vm, long waitSeconds) {
        if (waitSeconds >= 0) {
            for (long i = 0; i < waitSeconds && vm.state.startsWith("Starting"); i++) {
                sleep(SECOND_MS);
                present(vm);
            }
            if (vm.state.startsWith("Starting")) {
                return power(vm);
            }
        }
        if (!vm.state.equals("Running")) {
            startVm(vm);
        }
        return power(vm);
    }

    /** Start-VM: returns once the VM runs. Like the real cmdlet, it fails on a VM that is changing state. */
    private void startVm(Vm vm) {
        if (vm.state.startsWith("Starting")) {
            throw new ScriptError("InvalidOperation", "'" + vm.name + "' failed to change state. The operation"
                    + " cannot be performed while the object is in its current state.");
        }
        long used = vms.values().stream().filter(v -> !v.state.equals("Off")).mapToLong(v -> v.memoryMb).sum();
        if (used + vm.memoryMb > memoryMb) {
            throw new ScriptError("ResourceUnavailable", "'" + vm.name + "' failed to start. Not enough memory"
                    + " in the system to start the virtual machine " + vm.name + ".");
        }
        vm.startVmCalls++;
        if (!holdNextStart) {
            boot(vm);
            return;
        }
        holdNextStart = false;
        vm.state = "Starting";
        long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (vm.state.equals("Starting") && System.nanoTime() < until) {
            sleep(SECOND_MS);
            present(vm);
        }
        if (vm.state.equals("Starting")) {
            throw new ScriptError("OperationTimeout", "'" + vm.name + "' did not finish starting (the test never"
                    + " called finishStart)");
        }
    }

    private void boot(Vm vm) {
        vm.state = "Running";
        vm.writes++; // a booting guest writes to its disk
        vm.ip = vm.guestNetwork && !vm.switchName.isEmpty() ? "10.20.0." + nextIp++ : null;
    }

    /** Start-Sleep, or a cmdlet that blocks: the monitor is free meanwhile (other scripts, the tests' hooks). */
    private void sleep(long millis) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        try {
            for (long left = until - System.nanoTime(); left > 0; left = until - System.nanoTime()) {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ScriptError("OperationStopped", "The pipeline has been stopped.");
        }
    }

    /** The script's next Get-VM -Name: the VM may have been removed while it slept. */
    private void present(Vm vm) {
        if (vms.get(vm.name) != vm) {
            throw new ScriptError("ObjectNotFound", "Hyper-V was unable to find a virtual machine with name \""
                    + vm.name + "\".");
        }
    }

    private Map<String, Object> stop(Vm vm, boolean graceful) {
        if (!vm.state.equals("Off")) {
            vm.lastStop = graceful && !vm.ignoresShutdown ? "shutdown" : "turn-off";
            vm.state = "Off";
            vm.ip = null;
        }
        return power(vm);
    }

    private Map<String, Object> revert(Vm vm, Map<String, String> kvp) {
        mine(vm);
        stop(vm, false);
        if (!vm.checkpoints.contains(HyperVScripts.BASE_CHECKPOINT)) {
            throw new ScriptError("ObjectNotFound", "Hyper-V was unable to find a checkpoint named '"
                    + HyperVScripts.BASE_CHECKPOINT + "'.");
        }
        vm.writes = 0;
        vm.kvp.putAll(kvp); // the script replaces the items it names after the restore
        return power(vm);
    }

    private Result delete(Script s) {
        Vm vm = vms.get(s.text("n"));
        if (vm != null) {
            mine(vm);
            stop(vm, false);
            vms.remove(vm.name);
            files.remove(vm.disk.toLowerCase());
            files.remove(s.text("d").toLowerCase());
        }
        return ok(Map.of("deleted", true));
    }

    private Map<String, Object> state(String name) {
        Vm vm = vms.get(name);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("exists", vm != null);
        if (vm != null) {
            m.put("id", vm.id);
            m.put("state", vm.state);
            m.put("base", vm.checkpoints.contains(HyperVScripts.BASE_CHECKPOINT));
            m.put("ips", vm.ip == null ? List.of() : List.of(vm.ip));
        }
        return m;
    }

    private static void mine(Vm vm) {
        if (!vm.notes.startsWith(HyperVScripts.NOTES)) {
            throw new ScriptError("OperationStopped", "VM " + vm.name + " was not made by the broker");
        }
    }

    private static Map<String, Object> power(Vm vm) {
        return Map.of("id", vm.id, "state", vm.state);
    }

    private Result withVm(Script s, java.util.function.Function<Vm, Object> action) {
        String name = s.text("n");
        Vm vm = vms.get(name);
        if (vm == null) {
            throw new ScriptError("ObjectNotFound", "Hyper-V was unable to find a virtual machine with name \""
                    + name + "\".");
        }
        return ok(action.apply(vm));
    }

    private static Result ok(Object value) {
        try {
            return new Result(0, JSON.writeValueAsString(value) + "\r\n");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Result error(String category, String message) {
        Map<String, Object> m = new TreeMap<>();
        m.put("error", category);
        m.put("id", category + ",Microsoft.HyperV.PowerShell.Commands");
        m.put("message", message);
        Result r = ok(m);
        return new Result(1, r.stdout());
    }

    private static final class ScriptError extends RuntimeException {
        final String category;

        ScriptError(String category, String message) {
            super(message);
            this.category = category;
        }
    }

    /** A broker script read by its fixed shape: operation tag and input assignments. */
    record Script(String operation, Map<String, Object> inputs) {

        private static final String TAG = "# vdi-broker hyperv ";
        private static final String PREAMBLE = "$ErrorActionPreference='Stop'\n";

        static Script parse(String text) {
            if (!text.startsWith(TAG)) {
                throw new IllegalArgumentException("no tag line");
            }
            int eol = text.indexOf('\n');
            String operation = text.substring(TAG.length(), eol);
            int i = eol + 1;
            if (!text.startsWith(PREAMBLE, i)) {
                throw new IllegalArgumentException("no $ErrorActionPreference line");
            }
            i += PREAMBLE.length();
            Map<String, Object> inputs = new LinkedHashMap<>();
            while (text.charAt(i) == '$') {
                int eq = text.indexOf('=', i);
                String variable = text.substring(i + 1, eq);
                int[] end = new int[1];
                inputs.put(variable, value(text, eq + 1, end));
                i = end[0];
                if (text.charAt(i) != '\n') {
                    throw new IllegalArgumentException("input $" + variable + " does not end its line");
                }
                i++;
            }
            if (!text.startsWith("try{\n", i)) {
                throw new IllegalArgumentException("no try{ after the inputs");
            }
            return new Script(operation, inputs);
        }

        private static Object value(String text, int i, int[] end) {
            char c = text.charAt(i);
            if (HyperVScripts.isQuote(c)) {
                return literal(text, i, end);
            }
            if (text.startsWith("@{", i)) {
                Map<String, String> table = new LinkedHashMap<>();
                int j = i + 2;
                while (text.charAt(j) != '}') {
                    String key = literal(text, j, end);
                    if (text.charAt(end[0]) != '=') {
                        throw new IllegalArgumentException("a table entry without '='");
                    }
                    table.put(key, literal(text, end[0] + 1, end));
                    j = end[0];
                    if (text.charAt(j) == ';') {
                        j++;
                    }
                }
                end[0] = j + 1;
                return table;
            }
            int j = i;
            while (j < text.length() && (Character.isDigit(text.charAt(j)) || text.charAt(j) == '-')) {
                j++;
            }
            end[0] = j;
            return Long.parseLong(text.substring(i, j));
        }

        /** A single-quoted literal the way PowerShell reads it: two quote marks in a row are one. */
        private static String literal(String text, int i, int[] end) {
            if (!HyperVScripts.isQuote(text.charAt(i))) {
                throw new IllegalArgumentException("expected a quoted value at " + i);
            }
            StringBuilder b = new StringBuilder();
            int j = i + 1;
            while (true) {
                char c = text.charAt(j);
                if (HyperVScripts.isQuote(c)) {
                    if (j + 1 < text.length() && HyperVScripts.isQuote(text.charAt(j + 1))) {
                        b.append(c);
                        j += 2;
                        continue;
                    }
                    end[0] = j + 1;
                    return b.toString();
                }
                b.append(c);
                j++;
            }
        }

        String text(String variable) {
            Object v = inputs.get(variable);
            if (!(v instanceof String s)) {
                throw new IllegalArgumentException("input $" + variable + " is not text");
            }
            return s;
        }

        long number(String variable) {
            Object v = inputs.get(variable);
            if (!(v instanceof Long n)) {
                throw new IllegalArgumentException("input $" + variable + " is not a number");
            }
            return n;
        }

        @SuppressWarnings("unchecked")
        Map<String, String> table(String variable) {
            return (Map<String, String>) inputs.getOrDefault(variable, Map.of());
        }
    }
}
