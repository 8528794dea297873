package org.vdibroker.hypervisor.xenserver;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * A stateful fake of a XenServer pool's XAPI, speaking XML-RPC the way XAPI does: every answer is a struct
 * {@code {Status: Success, Value: ...}} or {@code {Status: Failure, ErrorDescription: [code, args...]}}, int64 values
 * travel as strings, records are full structs, and {@code Async.*} calls return task references that are polled
 * with {@code task.get_status/get_result/get_error_info}. It keeps VMs, templates, snapshots, VBDs, VDIs, sessions
 * and tasks. No XAPI server can be installed here, so the xenserver driver is tested against this; its shapes follow
 * the XAPI reference (xapi-project/xen-api), not a captured conversation. A fake started with {@link #slave} is a
 * pool member: it answers every login with {@code HOST_IS_SLAVE} and its master's address.
 */
final class FakeXapi implements AutoCloseable {

    static {
        // answers without waiting for the client's delayed ACK (see FakeHyperVHost): read when the first HttpServer
        // of the JVM starts
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    static final String USER = "root";
    static final String PASSWORD = "xen-secret";
    static final String TEMPLATE = "win10-desktop";
    static final String NULL = "OpaqueRef:NULL";

    /** An XAPI failure: its ErrorDescription. */
    static final class Failure extends RuntimeException {
        final List<String> description;

        Failure(String... description) {
            super(String.join(" ", description));
            this.description = List.of(description);
        }
    }

    /** An XML-RPC dateTime.iso8601 value. */
    record DateTime(String iso8601) {
    }

    private final HttpServer server;
    private final String masterAddress;
    /** Method names received, in order ({@code session.login_with_password}, {@code Async.VM.clone}, ...). */
    final List<String> calls = new CopyOnWriteArrayList<>();
    final Map<String, Map<String, Object>> vms = new ConcurrentHashMap<>();
    final Map<String, Map<String, Object>> vbds = new ConcurrentHashMap<>();
    final Map<String, Map<String, Object>> vdis = new ConcurrentHashMap<>();
    final Map<String, Map<String, Object>> tasks = new ConcurrentHashMap<>();
    final Map<String, Map<String, Object>> metrics = new ConcurrentHashMap<>();
    final Map<String, String> sessions = new ConcurrentHashMap<>();
    private final Map<String, Runnable> taskWork = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> taskPolls = new ConcurrentHashMap<>();
    private final Map<String, List<String>> failNext = new ConcurrentHashMap<>();
    private final AtomicInteger counter = new AtomicInteger();
    private final String host = "OpaqueRef:host-" + UUID.randomUUID();
    private final String sr = "OpaqueRef:sr-" + UUID.randomUUID();
    /** Polls of task.get_status a task stays pending for (tasks take time). */
    volatile int pendingPolls = 1;
    /** Host memory (bytes) VMs may use. */
    volatile long hostMemory = 64L * 1024 * 1024 * 1024;
    /** Whether a guest reports an IP address in its guest metrics once it runs. */
    volatile boolean guestTools = true;
    /** Whether guests obey a clean shutdown. */
    volatile boolean cleanShutdownWorks = true;

    private FakeXapi(InetAddress address, int port, String masterAddress) throws IOException {
        this.masterAddress = masterAddress;
        server = HttpServer.create(new InetSocketAddress(address, port), 0);
        server.createContext("/", exchange -> {
            byte[] body;
            try (exchange) {
                body = handle(exchange.getRequestBody().readAllBytes()).getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "text/xml");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        });
        server.start();
        if (masterAddress == null) {
            seed();
        }
    }

    /** A pool master on 127.0.0.1 and a free port. */
    static FakeXapi master() throws IOException {
        return new FakeXapi(InetAddress.getLoopbackAddress(), 0, null);
    }

    /** A pool master on {@code address} (e.g. 127.0.0.2) at {@code port}. */
    static FakeXapi master(String address, int port) throws IOException {
        return new FakeXapi(InetAddress.getByName(address), port, null);
    }

    /** A pool member on {@code address}:{@code port} whose master is at {@code masterAddress}. */
    static FakeXapi slave(String address, int port, String masterAddress) throws IOException {
        return new FakeXapi(InetAddress.getByName(address), port, masterAddress);
    }

    String url() {
        return "http://" + server.getAddress().getAddress().getHostAddress() + ":" + server.getAddress().getPort();
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** Every session ends, as when the master restarts or a session times out. */
    void expireSessions() {
        sessions.clear();
    }

    /** The next call of {@code method} fails with this ErrorDescription. */
    void failNext(String method, String... description) {
        failNext.put(method, List.of(description));
    }

    @Override
    public void close() {
        server.stop(0);
    }

    /** VMs (not templates, not snapshots) by name label. */
    List<Map<String, Object>> vmsNamed(String name) {
        return vms.values().stream().filter(v -> name.equals(v.get("name_label"))
                && !(Boolean) v.get("is_a_template") && !(Boolean) v.get("is_a_snapshot")).toList();
    }

    // ---- the model

    private void seed() {
        String template = "OpaqueRef:vm-template";
        Map<String, Object> t = vmRecord(template, TEMPLATE);
        t.put("is_a_template", true);
        t.put("VCPUs_at_startup", "2");
        t.put("VCPUs_max", "2");
        vms.put(template, t);
        attachDisk(template, newVdi("win10 disk"));
    }

    private Map<String, Object> vmRecord(String ref, String name) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("uuid", UUID.randomUUID().toString());
        r.put("allowed_operations", new ArrayList<>(List.of("clone", "copy", "start")));
        r.put("current_operations", new LinkedHashMap<>());
        r.put("name_label", name);
        r.put("name_description", "");
        r.put("power_state", "Halted");
        r.put("user_version", "1");
        r.put("is_a_template", false);
        r.put("is_default_template", false);
        r.put("suspend_VDI", NULL);
        r.put("resident_on", NULL);
        r.put("affinity", NULL);
        r.put("memory_overhead", "11534336");
        r.put("memory_target", "0");
        r.put("memory_static_max", String.valueOf(4096L * 1024 * 1024));
        r.put("memory_dynamic_max", String.valueOf(4096L * 1024 * 1024));
        r.put("memory_dynamic_min", String.valueOf(4096L * 1024 * 1024));
        r.put("memory_static_min", String.valueOf(1024L * 1024 * 1024));
        r.put("VCPUs_params", new LinkedHashMap<>());
        r.put("VCPUs_max", "1");
        r.put("VCPUs_at_startup", "1");
        r.put("actions_after_shutdown", "destroy");
        r.put("actions_after_reboot", "restart");
        r.put("actions_after_crash", "restart");
        r.put("consoles", new ArrayList<>());
        r.put("VIFs", new ArrayList<>());
        r.put("VBDs", new ArrayList<>());
        r.put("VUSBs", new ArrayList<>());
        r.put("crash_dumps", new ArrayList<>());
        r.put("VTPMs", new ArrayList<>());
        r.put("PV_bootloader", "");
        r.put("HVM_boot_policy", "BIOS order");
        r.put("HVM_boot_params", new LinkedHashMap<>(Map.of("order", "cd")));
        r.put("platform", new LinkedHashMap<>());
        r.put("other_config", new LinkedHashMap<>());
        r.put("domid", "-1");
        r.put("is_control_domain", false);
        r.put("metrics", NULL);
        r.put("guest_metrics", NULL);
        r.put("xenstore_data", new LinkedHashMap<>());
        r.put("is_a_snapshot", false);
        r.put("snapshot_of", NULL);
        r.put("snapshots", new ArrayList<>());
        r.put("snapshot_time", new DateTime("19700101T00:00:00Z"));
        r.put("tags", new ArrayList<>());
        r.put("blocked_operations", new LinkedHashMap<>());
        r.put("ha_restart_priority", "");
        return r;
    }

    private String newVdi(String name) {
        String ref = "OpaqueRef:vdi-" + counter.incrementAndGet();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("uuid", UUID.randomUUID().toString());
        r.put("name_label", name);
        r.put("SR", sr);
        r.put("VBDs", new ArrayList<>());
        r.put("virtual_size", String.valueOf(32L * 1024 * 1024 * 1024));
        r.put("type", "user");
        r.put("sharable", false);
        r.put("read_only", false);
        r.put("other_config", new LinkedHashMap<>());
        vdis.put(ref, r);
        return ref;
    }

    @SuppressWarnings("unchecked")
    private void attachDisk(String vm, String vdi) {
        String ref = "OpaqueRef:vbd-" + counter.incrementAndGet();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("uuid", UUID.randomUUID().toString());
        r.put("VM", vm);
        r.put("VDI", vdi);
        r.put("device", "xvda");
        r.put("userdevice", "0");
        r.put("bootable", true);
        r.put("mode", "RW");
        r.put("type", "Disk");
        r.put("empty", false);
        r.put("currently_attached", false);
        r.put("other_config", new LinkedHashMap<>());
        vbds.put(ref, r);
        ((List<Object>) vms.get(vm).get("VBDs")).add(ref);
        ((List<Object>) vdis.get(vdi).get("VBDs")).add(ref);
        String cd = "OpaqueRef:vbd-" + counter.incrementAndGet();
        Map<String, Object> c = new LinkedHashMap<>(r);
        c.put("uuid", UUID.randomUUID().toString());
        c.put("VDI", NULL);
        c.put("type", "CD");
        c.put("empty", true);
        c.put("device", "xvdd");
        c.put("userdevice", "3");
        vbds.put(cd, c);
        ((List<Object>) vms.get(vm).get("VBDs")).add(cd);
    }

    /** A copy of a VM with fresh disks (clone, copy, snapshot). */
    @SuppressWarnings("unchecked")
    private String duplicate(String source, String name, boolean snapshot) {
        Map<String, Object> from = record(vms, source, "VM");
        String ref = "OpaqueRef:vm-" + counter.incrementAndGet();
        Map<String, Object> r = vmRecord(ref, name);
        for (String key : List.of("is_a_template", "memory_static_max", "memory_dynamic_max", "memory_dynamic_min",
                "memory_static_min", "VCPUs_max", "VCPUs_at_startup", "platform", "HVM_boot_params")) {
            r.put(key, copy(from.get(key)));
        }
        r.put("other_config", new LinkedHashMap<>((Map<String, Object>) from.get("other_config")));
        r.put("xenstore_data", new LinkedHashMap<>((Map<String, Object>) from.get("xenstore_data")));
        if (snapshot) {
            r.put("is_a_snapshot", true);
            r.put("snapshot_of", source);
            r.put("power_state", "Halted");
            ((List<Object>) from.get("snapshots")).add(ref);
        }
        vms.put(ref, r);
        for (Object vbd : (List<Object>) from.get("VBDs")) {
            Map<String, Object> b = vbds.get((String) vbd);
            if ("Disk".equals(b.get("type"))) {
                attachDisk(ref, newVdi(name + " disk"));
            }
        }
        return ref;
    }

    @SuppressWarnings("unchecked")
    private static Object copy(Object value) {
        return value instanceof Map<?, ?> m ? new LinkedHashMap<>((Map<String, Object>) m) : value;
    }

    private static Map<String, Object> record(Map<String, Map<String, Object>> table, String ref, String kind) {
        Map<String, Object> r = table.get(ref);
        if (r == null) {
            throw new Failure("HANDLE_INVALID", kind, ref);
        }
        return r;
    }

    private Map<String, Object> vm(String ref) {
        return record(vms, ref, "VM");
    }

    private void requirePower(String ref, String expected) {
        String actual = (String) vm(ref).get("power_state");
        if (!actual.equalsIgnoreCase(expected)) {
            throw new Failure("VM_BAD_POWER_STATE", ref, expected.toLowerCase(), actual.toLowerCase());
        }
    }

    private long usedMemory() {
        return vms.values().stream().filter(v -> "Running".equals(v.get("power_state")))
                .mapToLong(v -> Long.parseLong((String) v.get("memory_static_max"))).sum();
    }

    // ---- the protocol

    private String handle(byte[] body) {
        String method;
        List<Object> params;
        try {
            Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                    .parse(new ByteArrayInputStream(body));
            Element root = doc.getDocumentElement();
            method = text(child(root, "methodName")).trim();
            params = new ArrayList<>();
            Element ps = child(root, "params");
            if (ps != null) {
                for (Element p : children(ps, "param")) {
                    params.add(parse(child(p, "value")));
                }
            }
        } catch (Exception e) {
            return fault("request is not XML-RPC: " + e.getMessage());
        }
        calls.add(method);
        synchronized (this) { // records are encoded while no call changes them
            try {
                return success(dispatch(method, params));
            } catch (Failure f) {
                return failure(f.description);
            }
        }
    }

    private Object dispatch(String method, List<Object> p) {
        if (method.equals("session.login_with_password")) {
            if (masterAddress != null) {
                throw new Failure("HOST_IS_SLAVE", masterAddress);
            }
            if (p.size() < 2 || !USER.equals(p.get(0)) || !PASSWORD.equals(p.get(1))) {
                throw new Failure("SESSION_AUTHENTICATION_FAILED", String.valueOf(p.isEmpty() ? "" : p.get(0)),
                        "Authentication failure");
            }
            String session = "OpaqueRef:session-" + UUID.randomUUID();
            sessions.put(session, (String) p.get(0));
            return session;
        }
        String session = p.isEmpty() ? "" : String.valueOf(p.get(0));
        if (!sessions.containsKey(session)) {
            throw new Failure("SESSION_INVALID", session);
        }
        List<String> injected = failNext.remove(method);
        if (injected != null) {
            throw new Failure(injected.toArray(String[]::new));
        }
        String self = p.size() > 1 ? String.valueOf(p.get(1)) : null;
        if (method.startsWith("Async.")) {
            return async(method.substring("Async.".length()), p);
        }
        return switch (method) {
            case "session.logout" -> {
                sessions.remove(session);
                yield "";
            }
            case "session.get_this_host" -> host;
            case "host.get_API_version_major" -> "2";
            case "host.get_API_version_minor" -> "16";
            case "host.get_all_records" -> Map.of(host, hostRecord());
            case "host.get_record" -> hostRecord();
            case "host.compute_free_memory" -> String.valueOf(Math.max(0, hostMemory - usedMemory()));
            case "VM.get_all_records" -> new LinkedHashMap<>(vms);
            case "VM.get_record" -> vm(self);
            case "VM.get_by_name_label" -> vms.entrySet().stream()
                    .filter(e -> self.equals(e.getValue().get("name_label"))).map(Map.Entry::getKey).toList();
            case "VM.get_by_uuid" -> vms.entrySet().stream().filter(e -> self.equals(e.getValue().get("uuid")))
                    .map(Map.Entry::getKey).findFirst().orElseThrow(() -> new Failure("UUID_INVALID", "VM", self));
            case "VM.get_power_state", "VM.get_other_config", "VM.get_xenstore_data", "VM.get_snapshots",
                    "VM.get_VBDs", "VM.get_guest_metrics", "VM.get_name_label", "VM.get_VCPUs_at_startup" ->
                vm(self).get(method.substring("VM.get_".length()));
            case "VM.add_to_other_config", "VM.add_to_xenstore_data" -> {
                Map<String, Object> map = map(vm(self), method.substring("VM.add_to_".length()));
                if (map.containsKey((String) p.get(2))) {
                    throw new Failure("MAP_DUPLICATE_KEY", "VM", method.substring("VM.add_to_".length()), self,
                            (String) p.get(2));
                }
                map.put((String) p.get(2), p.get(3));
                yield "";
            }
            case "VM.remove_from_other_config", "VM.remove_from_xenstore_data" -> {
                map(vm(self), method.substring("VM.remove_from_".length())).remove((String) p.get(2));
                yield "";
            }
            case "VM.set_is_a_template" -> {
                vm(self).put("is_a_template", p.get(2));
                yield "";
            }
            case "VM.set_memory_limits" -> {
                requirePower(self, "Halted");
                Map<String, Object> r = vm(self);
                r.put("memory_static_min", p.get(2));
                r.put("memory_static_max", p.get(3));
                r.put("memory_dynamic_min", p.get(4));
                r.put("memory_dynamic_max", p.get(5));
                yield "";
            }
            case "VM.set_VCPUs_max" -> {
                requirePower(self, "Halted");
                if (Long.parseLong((String) p.get(2)) < Long.parseLong((String) vm(self).get("VCPUs_at_startup"))) {
                    throw new Failure("VALUE_NOT_SUPPORTED", "VCPU values", (String) p.get(2),
                            "VCPUs_at_startup must be less than or equal to VCPUs_max");
                }
                vm(self).put("VCPUs_max", p.get(2));
                yield "";
            }
            case "VM.set_VCPUs_at_startup" -> {
                if (Long.parseLong((String) p.get(2)) > Long.parseLong((String) vm(self).get("VCPUs_max"))) {
                    throw new Failure("VALUE_NOT_SUPPORTED", "VCPU values", (String) p.get(2),
                            "VCPUs_at_startup must be less than or equal to VCPUs_max");
                }
                vm(self).put("VCPUs_at_startup", p.get(2));
                yield "";
            }
            case "VBD.get_record" -> record(vbds, self, "VBD");
            case "VM_guest_metrics.get_networks" -> map(record(metrics, self, "VM_guest_metrics"), "networks");
            case "SR.get_by_name_label" -> "Local storage".equals(self) ? List.of(sr) : List.of();
            case "SR.get_by_uuid" -> throw new Failure("UUID_INVALID", "SR", self);
            case "task.get_status" -> taskStatus(self);
            case "task.get_result" -> record(tasks, self, "task").get("result");
            case "task.get_error_info" -> record(tasks, self, "task").get("error_info");
            case "task.get_record" -> record(tasks, self, "task");
            case "task.destroy" -> {
                record(tasks, self, "task");
                tasks.remove(self);
                yield "";
            }
            default -> throw new Failure("MESSAGE_METHOD_UNKNOWN", method);
        };
    }

    private Map<String, Object> hostRecord() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("uuid", "6f9a1d0e-0000-4000-8000-000000000001");
        r.put("name_label", "xen-host-1");
        r.put("address", server.getAddress().getAddress().getHostAddress());
        r.put("enabled", true);
        r.put("API_version_major", "2");
        r.put("API_version_minor", "16");
        r.put("cpu_info", new LinkedHashMap<>(Map.of("cpu_count", "16", "socket_count", "1")));
        r.put("resident_VMs", vms.entrySet().stream().filter(e -> host.equals(e.getValue().get("resident_on")))
                .map(Map.Entry::getKey).toList());
        r.put("host_CPUs", new ArrayList<>());
        r.put("memory_overhead", "0");
        r.put("other_config", new LinkedHashMap<>());
        r.put("metrics", NULL);
        return r;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> record, String field) {
        return (Map<String, Object>) record.get(field);
    }

    /** Starts a task: its work happens when it ends, after {@link #pendingPolls} polls. */
    private String async(String method, List<Object> p) {
        String self = String.valueOf(p.get(1));
        if (!method.startsWith("VDI.")) {
            vm(self); // HANDLE_INVALID at once, as XAPI checks references before it makes a task
        }
        Runnable work = switch (method) {
            case "VM.clone", "VM.copy" -> () -> {
                requirePower(self, "Halted");
                result(duplicate(self, (String) p.get(2), false));
            };
            case "VM.provision" -> () -> {
                map(vm(self), "other_config").remove("disks");
                result("");
            };
            case "VM.snapshot" -> () -> result(duplicate(self, (String) p.get(2), true));
            case "VM.start" -> () -> {
                Map<String, Object> r = vm(self);
                if ((Boolean) r.get("is_a_template")) {
                    throw new Failure("VM_IS_TEMPLATE", self, "start");
                }
                requirePower(self, "Halted");
                if (usedMemory() + Long.parseLong((String) r.get("memory_static_max")) > hostMemory) {
                    throw new Failure("HOST_NOT_ENOUGH_FREE_MEMORY",
                            (String) r.get("memory_static_max"), String.valueOf(hostMemory - usedMemory()));
                }
                r.put("power_state", "Running");
                r.put("resident_on", host);
                r.put("domid", String.valueOf(counter.incrementAndGet()));
                if (guestTools) {
                    String gm = "OpaqueRef:gm-" + counter.incrementAndGet();
                    metrics.put(gm, new LinkedHashMap<>(Map.of("uuid", UUID.randomUUID().toString(), "networks",
                            new LinkedHashMap<>(Map.of("0/ip", "10.20.0." + (counter.get() % 250 + 2),
                                    "0/ipv6/0", "fe80::1")))));
                    r.put("guest_metrics", gm);
                }
                result("");
            };
            case "VM.clean_shutdown" -> () -> {
                requirePower(self, "Running");
                if (!cleanShutdownWorks) {
                    throw new Failure("VM_FAILED_SHUTDOWN_ACKNOWLEDGMENT", self);
                }
                halt(self);
                result("");
            };
            case "VM.hard_shutdown" -> () -> {
                requirePower(self, "Running");
                halt(self);
                result("");
            };
            case "VM.revert" -> () -> {
                revert(self);
                result("");
            };
            case "VM.destroy" -> () -> {
                destroyVm(self);
                result("");
            };
            case "VDI.destroy" -> () -> {
                Map<String, Object> vdi = record(vdis, self, "VDI");
                if (!((List<?>) vdi.get("VBDs")).isEmpty()) {
                    throw new Failure("VDI_IN_USE", self, "destroy");
                }
                vdis.remove(self);
                result("");
            };
            default -> throw new Failure("MESSAGE_METHOD_UNKNOWN", "Async." + method);
        };
        String task = "OpaqueRef:task-" + counter.incrementAndGet();
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("uuid", UUID.randomUUID().toString());
        t.put("name_label", "Async." + method);
        t.put("status", "pending");
        t.put("progress", 0.0);
        t.put("result", "");
        t.put("error_info", new ArrayList<>());
        tasks.put(task, t);
        taskWork.put(task, work);
        taskPolls.put(task, new AtomicInteger(pendingPolls));
        return task;
    }

    private final ThreadLocal<String> currentResult = new ThreadLocal<>();

    private void result(String value) {
        currentResult.set(value);
    }

    private String taskStatus(String ref) {
        Map<String, Object> t = record(tasks, ref, "task");
        AtomicInteger polls = taskPolls.get(ref);
        if ("pending".equals(t.get("status")) && polls != null && polls.getAndDecrement() <= 0) {
            Runnable work = taskWork.remove(ref);
            try {
                currentResult.remove();
                work.run();
                String value = currentResult.get();
                t.put("result", value == null || value.isEmpty() ? "" : "<value>" + value + "</value>");
                t.put("status", "success");
                t.put("progress", 1.0);
            } catch (Failure f) {
                t.put("status", "failure");
                t.put("error_info", new ArrayList<>(f.description));
            }
        }
        return (String) t.get("status");
    }

    private void halt(String ref) {
        Map<String, Object> r = vm(ref);
        r.put("power_state", "Halted");
        r.put("resident_on", NULL);
        r.put("domid", "-1");
        Object gm = r.put("guest_metrics", NULL);
        metrics.remove(String.valueOf(gm));
    }

    @SuppressWarnings("unchecked")
    private void revert(String snapshot) {
        Map<String, Object> s = vm(snapshot);
        if (!(Boolean) s.get("is_a_snapshot")) {
            throw new Failure("VM_NOT_A_SNAPSHOT", snapshot);
        }
        String target = (String) s.get("snapshot_of");
        Map<String, Object> vm = vm(target);
        if ("Running".equals(vm.get("power_state"))) {
            halt(target);
        }
        for (String key : List.of("memory_static_max", "memory_dynamic_max", "memory_dynamic_min",
                "memory_static_min", "VCPUs_max", "VCPUs_at_startup")) {
            vm.put(key, s.get(key));
        }
        vm.put("other_config", new LinkedHashMap<>(map(s, "other_config")));
        vm.put("xenstore_data", new LinkedHashMap<>(map(s, "xenstore_data")));
        // the VM's disks are replaced by new copies of the snapshot's
        for (Object vbd : new ArrayList<>((List<Object>) vm.get("VBDs"))) {
            Map<String, Object> b = vbds.get((String) vbd);
            if ("Disk".equals(b.get("type"))) {
                vbds.remove((String) vbd);
                ((List<Object>) vm.get("VBDs")).remove(vbd);
                vdis.remove((String) b.get("VDI"));
            }
        }
        for (Object vbd : (List<Object>) s.get("VBDs")) {
            if ("Disk".equals(vbds.get((String) vbd).get("type"))) {
                attachDisk(target, newVdi(vm.get("name_label") + " disk"));
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void destroyVm(String ref) {
        Map<String, Object> r = vm(ref);
        if (!"Halted".equals(r.get("power_state"))) {
            throw new Failure("VM_BAD_POWER_STATE", ref, "halted", ((String) r.get("power_state")).toLowerCase());
        }
        for (Object vbd : (List<Object>) r.get("VBDs")) {
            Map<String, Object> b = vbds.remove((String) vbd);
            Map<String, Object> vdi = vdis.get((String) b.get("VDI"));
            if (vdi != null) {
                ((List<Object>) vdi.get("VBDs")).remove(vbd);
            }
        }
        String parent = (String) r.get("snapshot_of");
        if (!NULL.equals(parent) && vms.containsKey(parent)) {
            ((List<Object>) vms.get(parent).get("snapshots")).remove(ref);
        }
        for (Object snapshot : (List<Object>) r.get("snapshots")) {
            Map<String, Object> sr = vms.get((String) snapshot);
            if (sr != null) {
                sr.put("snapshot_of", NULL);
            }
        }
        vms.remove(ref);
    }

    // ---- XML-RPC encoding

    private static Object parse(Element value) {
        Element typed = firstElement(value);
        if (typed == null) {
            return text(value);
        }
        String content = text(typed);
        return switch (typed.getTagName()) {
            case "string" -> content;
            case "boolean" -> "1".equals(content.trim());
            case "int", "i4", "i8" -> Long.parseLong(content.trim());
            case "double" -> Double.parseDouble(content.trim());
            case "struct" -> {
                Map<String, Object> m = new LinkedHashMap<>();
                for (Element member : children(typed, "member")) {
                    m.put(text(child(member, "name")), parse(child(member, "value")));
                }
                yield m;
            }
            case "array" -> {
                List<Object> l = new ArrayList<>();
                Element data = child(typed, "data");
                if (data != null) {
                    for (Element v : children(data, "value")) {
                        l.add(parse(v));
                    }
                }
                yield l;
            }
            default -> content;
        };
    }

    private static String success(Object value) {
        return response(Map.of("Status", "Success", "Value", value));
    }

    private static String failure(List<String> description) {
        return response(Map.of("Status", "Failure", "ErrorDescription", description));
    }

    private static String response(Map<String, Object> struct) {
        StringBuilder out = new StringBuilder("<?xml version=\"1.0\"?><methodResponse><params><param>");
        encode(out, struct);
        return out.append("</param></params></methodResponse>").toString();
    }

    private static String fault(String message) {
        return "<?xml version=\"1.0\"?><methodResponse><fault><value><struct><member><name>faultCode</name><value>"
                + "<int>-1</int></value></member><member><name>faultString</name><value>" + escape(message)
                + "</value></member></struct></value></fault></methodResponse>";
    }

    private static void encode(StringBuilder out, Object value) {
        out.append("<value>");
        if (value instanceof Boolean b) {
            out.append("<boolean>").append(b ? 1 : 0).append("</boolean>");
        } else if (value instanceof DateTime t) {
            out.append("<dateTime.iso8601>").append(t.iso8601()).append("</dateTime.iso8601>");
        } else if (value instanceof Double d) {
            out.append("<double>").append(d).append("</double>");
        } else if (value instanceof Map<?, ?> m) {
            out.append("<struct>");
            for (Map.Entry<?, ?> e : m.entrySet()) {
                out.append("<member><name>").append(escape(String.valueOf(e.getKey()))).append("</name>");
                encode(out, e.getValue());
                out.append("</member>");
            }
            out.append("</struct>");
        } else if (value instanceof List<?> l) {
            out.append("<array><data>");
            for (Object o : l) {
                encode(out, o);
            }
            out.append("</data></array>");
        } else {
            // strings, and int64 values, which XAPI sends as strings
            out.append(escape(String.valueOf(value)));
        }
        out.append("</value>");
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static Element child(Element parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) {
                return e;
            }
        }
        return null;
    }

    private static List<Element> children(Element parent, String name) {
        List<Element> found = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) {
                found.add(e);
            }
        }
        return Collections.unmodifiableList(found);
    }

    private static Element firstElement(Element parent) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e) {
                return e;
            }
        }
        return null;
    }

    private static String text(Element e) {
        return e == null ? "" : e.getTextContent();
    }
}
