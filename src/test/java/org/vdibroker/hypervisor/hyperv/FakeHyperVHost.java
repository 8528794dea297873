package org.vdibroker.hypervisor.hyperv;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * A fake Windows Server Hyper-V host for tests: a WS-Management (MS-WSMV) endpoint on 127.0.0.1 that speaks the shell
 * envelopes winrm4j sends (Create, Command, Receive, Signal, Delete; every answer's {@code RelatesTo} is the request's
 * {@code MessageID}), decodes each {@code powershell -encodedcommand} and answers from {@link FakeHyperVModel}.
 * Authentication is HTTP Basic (the driver's {@code auth=basic} with {@code allowHttp=true}); NTLM and Kerberos are
 * not modelled. No WinRM host can run here, which is why this exists.
 *
 * <pre>{@code
 * try (FakeHyperVHost host = new FakeHyperVHost("broker", "secret").start()) {
 *     host.model().addFile("C:\\VDI\\Templates\\win11.vhdx");   // a template's parent disk
 *     // hypervisor: driver "hyperv", endpoint host.endpoint(), config host.config(), credentials host.credentials()
 * }
 * }</pre>
 * Failures for tests: {@link #refuseAuthentication(int)} (401 answers, e.g. an expired session),
 * {@link #faultNext(String)} (a WS-Management fault), {@link #silence(boolean)} (accepts but never answers),
 * {@link FakeHyperVModel#failNext} (a PowerShell error), {@link FakeHyperVModel#holdNextStart} (a start in flight).
 */
public final class FakeHyperVHost implements AutoCloseable {

    private static final String SOAP = "http://www.w3.org/2003/05/soap-envelope";
    private static final String ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
    private static final String WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
    private static final String SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
    private static final String TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
    private static final Pattern ENCODED = Pattern.compile("-encodedcommand\\s+([A-Za-z0-9+/=]+)",
            Pattern.CASE_INSENSITIVE);

    static {
        // the JDK server writes a response's headers and body apart; with Nagle's algorithm on, the body then waits
        // for the client's delayed ACK (40 ms on Linux), which made each of a script's five envelopes take ~50 ms.
        // Read once, when the JVM's first HttpServer starts (FakeXapi sets it too).
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private final String username;
    private final String password;
    private final FakeHyperVModel model = new FakeHyperVModel();
    private final Map<String, Boolean> shells = new ConcurrentHashMap<>();
    private final Map<String, FakeHyperVModel.Result> commands = new ConcurrentHashMap<>();
    private final AtomicInteger refusals = new AtomicInteger();
    private final AtomicInteger unauthorized = new AtomicInteger();
    private final AtomicInteger envelopes = new AtomicInteger();
    private volatile String fault;
    private volatile CountDownLatch silence;
    private HttpServer server;
    private ExecutorService threads;

    /** A host that accepts exactly this user name and password (HTTP Basic). */
    public FakeHyperVHost(String username, String password) {
        this.username = username;
        this.password = password;
        model.addSwitch("vdi-lan"); // the switch config() names
    }

    /** Listens on a free port of 127.0.0.1. */
    public FakeHyperVHost start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-hyperv");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(threads);
        server.createContext("/wsman", this::handle);
        server.start();
        return this;
    }

    /** Stops listening: calls are then refused, as by a host that is down. */
    public void stop() {
        silence(false);
        if (server != null) {
            server.stop(0);
            threads.shutdownNow();
            server = null;
        }
    }

    @Override
    public void close() {
        stop();
    }

    public FakeHyperVModel model() {
        return model;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** The WinRM URL to give the driver as endpoint. */
    public String endpoint() {
        return "http://127.0.0.1:" + port() + "/wsman";
    }

    /** The driver configuration this fake needs: Basic authentication over plain http. */
    public Map<String, String> config() {
        return Map.of("auth", "basic", "allowHttp", "true", "username", username, "switch", "vdi-lan");
    }

    public Map<String, String> credentials() {
        return Map.of("password", password);
    }

    /** The next {@code times} requests are answered 401, as when a session expired or a ticket aged out. */
    public void refuseAuthentication(int times) {
        refusals.set(times);
    }

    /** How many requests were answered 401 so far. */
    public int unauthorizedAnswers() {
        return unauthorized.get();
    }

    /** How many envelopes the host answered (not counting refusals). */
    public int envelopes() {
        return envelopes.get();
    }

    /** The next Create is answered with a WS-Management fault (HTTP 500), e.g. too many shells. */
    public void faultNext(String message) {
        fault = message;
    }

    /** While on, requests are accepted and never answered: a host that hangs. */
    public synchronized void silence(boolean on) {
        if (on && silence == null) {
            silence = new CountDownLatch(1);
        } else if (!on && silence != null) {
            silence.countDown();
            silence = null;
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] request = exchange.getRequestBody().readAllBytes();
            CountDownLatch hang = silence;
            if (hang != null) {
                try {
                    hang.await(5, TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return;
            }
            String expected = "Basic " + Base64.getEncoder()
                    .encodeToString((username + ":" + password).getBytes(StandardCharsets.UTF_8));
            boolean refuse = refusals.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
            if (refuse || !expected.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                unauthorized.incrementAndGet();
                exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"WSMAN\"");
                exchange.sendResponseHeaders(401, -1);
                return;
            }
            envelopes.incrementAndGet();
            Document doc = parse(request);
            String action = text(doc, ADDRESSING, "Action");
            String messageId = text(doc, ADDRESSING, "MessageID");
            String shellId = selector(doc);
            String reply;
            int status = 200;
            switch (action) {
                case TRANSFER + "/Create" -> {
                    String message = fault;
                    if (message != null) {
                        fault = null;
                        status = 500;
                        reply = fault(messageId, "2150859174", message);
                    } else {
                        String id = UUID.randomUUID().toString().toUpperCase();
                        shells.put(id, true);
                        reply = envelope(TRANSFER + "/CreateResponse", messageId, created(id));
                    }
                }
                case SHELL + "/Command" -> {
                    if (!shells.containsKey(shellId)) {
                        status = 500;
                        reply = fault(messageId, "2150858843", "The request for the Windows Remote Shell with"
                                + " ShellId " + shellId + " failed because the shell was not found on the server.");
                    } else {
                        String commandId = UUID.randomUUID().toString().toUpperCase();
                        commands.put(commandId, model.run(script(doc)));
                        reply = envelope(SHELL + "/CommandResponse", messageId,
                                "<rsp:CommandResponse><rsp:CommandId>" + commandId
                                        + "</rsp:CommandId></rsp:CommandResponse>");
                    }
                }
                case SHELL + "/Receive" -> {
                    Element stream = first(doc, SHELL, "DesiredStream");
                    String commandId = stream == null ? "" : attribute(stream, "CommandId");
                    // kept until the command is signalled: a client may ask again for the same output
                    FakeHyperVModel.Result result = commands.get(commandId);
                    reply = result == null
                            ? fault(messageId, "2150858843", "no such command " + commandId)
                            : envelope(SHELL + "/ReceiveResponse", messageId, received(commandId, result));
                    status = result == null ? 500 : 200;
                }
                case SHELL + "/Signal" -> {
                    Element signal = first(doc, SHELL, "Signal");
                    if (signal != null) {
                        commands.remove(attribute(signal, "CommandId"));
                    }
                    reply = envelope(SHELL + "/SignalResponse", messageId, "<rsp:SignalResponse/>");
                }
                case TRANSFER + "/Delete" -> {
                    shells.remove(shellId);
                    reply = envelope(TRANSFER + "/DeleteResponse", messageId, "");
                }
                default -> {
                    status = 500;
                    reply = fault(messageId, "2150858817", "unsupported action " + action);
                }
            }
            byte[] body = reply.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/soap+xml;charset=UTF-8");
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        } catch (RuntimeException e) {
            exchange.sendResponseHeaders(400, -1);
        }
    }

    /** The PowerShell script of a Command: {@code powershell -encodedcommand <base64 of UTF-16LE>}. */
    private static String script(Document doc) {
        StringBuilder line = new StringBuilder(text(doc, SHELL, "Command"));
        NodeList arguments = doc.getElementsByTagNameNS(SHELL, "Arguments");
        for (int i = 0; i < arguments.getLength(); i++) {
            line.append(' ').append(arguments.item(i).getTextContent());
        }
        Matcher m = ENCODED.matcher(line);
        if (!m.find()) {
            return line.toString();
        }
        return new String(Base64.getDecoder().decode(m.group(1)), StandardCharsets.UTF_16LE);
    }

    private String created(String shellId) {
        return "<x:ResourceCreated><a:Address>" + endpoint() + "</a:Address><a:ReferenceParameters>"
                + "<w:ResourceURI>" + SHELL + "/cmd</w:ResourceURI><w:SelectorSet><w:Selector Name=\"ShellId\">"
                + shellId + "</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>"
                + "<rsp:Shell><rsp:ShellId>" + shellId + "</rsp:ShellId><rsp:ResourceUri>" + SHELL
                + "/cmd</rsp:ResourceUri><rsp:Owner>" + escape(username) + "</rsp:Owner><rsp:ClientIP>127.0.0.1"
                + "</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin"
                + "</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>";
    }

    private static String received(String commandId, FakeHyperVModel.Result result) {
        String out = Base64.getEncoder().encodeToString(result.stdout().getBytes(StandardCharsets.US_ASCII));
        return "<rsp:ReceiveResponse>"
                + "<rsp:Stream Name=\"stdout\" CommandId=\"" + commandId + "\">" + out + "</rsp:Stream>"
                + "<rsp:Stream Name=\"stdout\" CommandId=\"" + commandId + "\" End=\"true\"></rsp:Stream>"
                + "<rsp:Stream Name=\"stderr\" CommandId=\"" + commandId + "\" End=\"true\"></rsp:Stream>"
                + "<rsp:CommandState CommandId=\"" + commandId + "\" State=\"" + SHELL + "/CommandState/Done\">"
                + "<rsp:ExitCode>" + result.exitCode() + "</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>";
    }

    private static String fault(String relatesTo, String code, String message) {
        return envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relatesTo,
                "<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:InternalError</s:Value>"
                        + "</s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en-US\">" + escape(message)
                        + "</s:Text></s:Reason><s:Detail><f:WSManFault"
                        + " xmlns:f=\"http://schemas.microsoft.com/wbem/wsman/1/wsmanfault\" Code=\"" + code
                        + "\" Machine=\"127.0.0.1\"><f:Message>" + escape(message) + "</f:Message></f:WSManFault>"
                        + "</s:Detail></s:Fault>");
    }

    private static String envelope(String action, String relatesTo, String body) {
        return "<s:Envelope xmlns:s=\"" + SOAP + "\" xmlns:a=\"" + ADDRESSING + "\" xmlns:w=\"" + WSMAN
                + "\" xmlns:x=\"" + TRANSFER + "\" xmlns:rsp=\"" + SHELL + "\" xml:lang=\"en-US\"><s:Header>"
                + "<a:Action>" + action + "</a:Action><a:MessageID>uuid:" + UUID.randomUUID().toString().toUpperCase()
                + "</a:MessageID><a:To>" + ADDRESSING + "/role/anonymous</a:To><a:RelatesTo>" + escape(relatesTo)
                + "</a:RelatesTo></s:Header><s:Body>" + body + "</s:Body></s:Envelope>";
    }

    private static Document parse(byte[] xml) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return f.newDocumentBuilder().parse(new ByteArrayInputStream(xml));
        } catch (Exception e) {
            throw new IllegalArgumentException("not an XML envelope", e);
        }
    }

    private static String selector(Document doc) {
        NodeList selectors = doc.getElementsByTagNameNS(WSMAN, "Selector");
        for (int i = 0; i < selectors.getLength(); i++) {
            Element s = (Element) selectors.item(i);
            if ("ShellId".equals(s.getAttribute("Name"))) {
                return s.getTextContent().trim();
            }
        }
        return "";
    }

    private static Element first(Document doc, String namespace, String name) {
        Node n = doc.getElementsByTagNameNS(namespace, name).item(0);
        return n instanceof Element e ? e : null;
    }

    /** An attribute by local name, whether the client qualified it with a namespace or not. */
    private static String attribute(Element e, String localName) {
        for (int i = 0; i < e.getAttributes().getLength(); i++) {
            Node a = e.getAttributes().item(i);
            String name = a.getLocalName() == null ? a.getNodeName() : a.getLocalName();
            if (name.equals(localName)) {
                return a.getNodeValue().trim();
            }
        }
        return "";
    }

    private static String text(Document doc, String namespace, String name) {
        Element e = first(doc, namespace, name);
        return e == null ? "" : e.getTextContent().trim();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
