package org.vdibroker.hypervisor.vsphere;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.w3c.dom.Element;

/**
 * One VMware vSphere API simulator (govmomi's vcsim, simulator.VPX()) on a free port of 127.0.0.1, run from the
 * launcher that {@code .ci/install-vcsim.sh} builds into target/vcsim. Several can run at once; each dies with its
 * test (it stops when its standard input closes). {@link #admin()} is a client of its own, for looking behind the
 * driver's back.
 */
public final class Vcsim implements AutoCloseable {

    public static final String USER = "vdi";
    public static final String PASSWORD = "vcsim-secret";
    /** A VM of the VPX model in cluster DC0_C0, used as the desktops' template. */
    public static final String TEMPLATE = "DC0_C0_RP0_VM0";

    private final int port;
    private final boolean tls;
    private final String delays;
    private Process process;
    private URI url;
    private String certificateSha256;
    private VimClient admin;

    private Vcsim(int port, boolean tls, String delays) {
        this.port = port;
        this.tls = tls;
        this.delays = delays;
    }

    public static Vcsim start() {
        return start(false, null);
    }

    /** {@code delays}: e.g. {@code CloneVM_Task=1500}, how long vcsim takes to answer those methods. */
    public static Vcsim start(boolean tls, String delays) {
        Vcsim v = new Vcsim(freePort(), tls, delays);
        v.run();
        return v;
    }

    private void run() {
        Path binary = Path.of("target", "vcsim", "vcsim");
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException("No vcsim launcher at " + binary.toAbsolutePath()
                    + ": run .ci/install-vcsim.sh (the build does it before the tests)");
        }
        List<String> command = new ArrayList<>(List.of(binary.toString(), "-port", Integer.toString(port),
                "-login", USER + ":" + PASSWORD));
        if (tls) {
            command.add("-tls");
        }
        if (delays != null) {
            command.add("-delay");
            command.add(delays);
        }
        try {
            process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            BufferedReader out = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (url == null || tls && certificateSha256 == null) {
                String line = out.readLine();
                if (line == null || System.nanoTime() > deadline) {
                    throw new IllegalStateException("vcsim did not start");
                }
                if (line.startsWith("VCSIM_URL=")) {
                    url = URI.create(line.substring("VCSIM_URL=".length()));
                } else if (line.startsWith("VCSIM_CERT_SHA256=")) {
                    certificateSha256 = line.substring("VCSIM_CERT_SHA256=".length());
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("vcsim did not start: " + e.getMessage(), e);
        }
    }

    /** The SDK URL, e.g. http://127.0.0.1:41235/sdk. */
    public String url() {
        return url.toString();
    }

    public String certificateSha256() {
        return certificateSha256;
    }

    /** Stops the simulator (its whole inventory is gone); {@link #restart()} brings a fresh one on the same port. */
    public void stop() {
        if (admin != null) {
            admin = null;
        }
        if (process != null) {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process = null;
        }
    }

    public void restart() {
        stop();
        url = null;
        certificateSha256 = null;
        run();
    }

    public boolean running() {
        return process != null && process.isAlive();
    }

    /** A client with a session of its own, to change the simulator behind the driver's back. */
    VimClient admin() {
        if (admin == null) {
            admin = new VimClient("vcsim-admin", url, USER, PASSWORD, Duration.ofSeconds(20),
                    VsphereTls.context(null, tls),
                    Executors.newSingleThreadExecutor(r -> {
                        Thread t = new Thread(r, "vcsim-admin");
                        t.setDaemon(true);
                        return t;
                    }));
        }
        return admin;
    }

    Element adminCall(String method, Mor self, String params) {
        return join(admin().call(method, self, params));
    }

    /** Calls a task method and waits for the task (vcsim runs tasks before it answers). */
    void adminTask(String method, Mor self, String params) {
        String task = Xml.text(adminCall(method, self, params), "returnval");
        VimClient.ObjectContent info = join(admin().properties(new Mor("Task", task), "info"));
        String state = Xml.text(info.prop("info"), "state");
        if (!"success".equals(state)) {
            throw new IllegalStateException(method + " on " + self + " ended " + state);
        }
    }

    Mor find(String path) {
        Element r = join(admin().call("FindByInventoryPath", VimClient.ServiceContent::searchIndex,
                Xml.el("inventoryPath", path)));
        return Xml.child(r, "returnval").map(Xml::mor).orElseThrow(() -> new IllegalStateException("no " + path));
    }

    /** Creates folder {@code name} below DC0's vm folder (idempotent). */
    void createFolder(String name) {
        try {
            adminCall("CreateFolder", find("DC0/vm"), Xml.el("name", name));
        } catch (RuntimeException e) {
            if (!(VimClient.unwrap(e) instanceof VimFault f && f.is("DuplicateName"))) {
                throw e;
            }
        }
    }

    /** Gives the template a snapshot, so desktops are linked clones of it. */
    void snapshotTemplate() {
        adminTask("CreateSnapshot_Task", find("DC0/vm/" + TEMPLATE), Xml.el("name", "published")
                + Xml.el("memory", false) + Xml.el("quiesce", false));
    }

    /** What VMware Tools would report as the guest's IP (vcsim takes it from extraConfig SET.guest.ipAddress). */
    void setGuestIp(String vmRef, String ip) {
        adminTask("ReconfigVM_Task", new Mor("VirtualMachine", vmRef), "<spec><extraConfig xsi:type=\"OptionValue\">"
                + Xml.el("key", "SET.guest.ipAddress") + "<value xsi:type=\"xsd:string\">" + ip
                + "</value></extraConfig></spec>");
    }

    /** Powers off and destroys a VM behind the driver's back. */
    void destroy(String vmRef) {
        Mor vm = new Mor("VirtualMachine", vmRef);
        String power = join(admin().properties(vm, "runtime.powerState")).text("runtime.powerState");
        if ("poweredOn".equals(power)) {
            adminTask("PowerOffVM_Task", vm, "");
        }
        adminTask("Destroy_Task", vm, "");
    }

    /** VMs whose name starts with {@code prefix}, anywhere in the inventory. */
    List<VimClient.ObjectContent> vms(String prefix) {
        return join(admin().within(find("DC0"), "VirtualMachine", "name", "runtime.powerState", "snapshot",
                "config.extraConfig")).stream().filter(o -> o.text("name").startsWith(prefix)).toList();
    }

    static <T> T join(CompletionStage<T> stage) {
        try {
            return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = VimClient.unwrap(e);
            throw cause instanceof RuntimeException r ? r : new IllegalStateException(cause);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        stop();
    }
}
