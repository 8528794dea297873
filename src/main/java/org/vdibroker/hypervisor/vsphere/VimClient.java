package org.vdibroker.hypervisor.vsphere;

import java.net.ConnectException;
import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.jboss.logging.Logger;
import org.vdibroker.hypervisor.HypervisorException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * A lean, non-blocking client for the part of the vSphere Web Services (SOAP, vim25) API the broker uses, on the
 * JDK's HttpClient. Keeps one logged-in session per hypervisor (the {@code vmware_soap_session} cookie); a call that
 * comes back {@code NotAuthenticated} (session expired or terminated) logs in again once and is repeated, so the
 * caller never sees it. Requests are written as text, answers read with a DOM parser.
 */
final class VimClient implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(VimClient.class);
    private static final String ENVELOPE_START = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
            + "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\""
            + " xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"" + Xml.XSI + "\"><soapenv:Body>";
    private static final String ENVELOPE_END = "</soapenv:Body></soapenv:Envelope>";
    static final Mor SERVICE_INSTANCE = new Mor("ServiceInstance", "ServiceInstance");

    /** What {@code RetrieveServiceContent} tells: where the managers are. */
    record ServiceContent(Mor rootFolder, Mor propertyCollector, Mor viewManager, Mor searchIndex,
            Mor sessionManager, String apiType) {
    }

    /** One object's properties as the property collector returned them, by property path. */
    record ObjectContent(Mor obj, Map<String, Element> props) {
        Element prop(String path) {
            return props.get(path);
        }

        String text(String path) {
            Element e = props.get(path);
            return e == null ? null : e.getTextContent().trim();
        }
    }

    private final String id;
    private final URI sdk;
    private final String username;
    private final String password;
    private final Duration timeout;
    private final HttpClient http;
    private final AtomicReference<CompletableFuture<ServiceContent>> login = new AtomicReference<>();
    private volatile String sessionKey;

    VimClient(String hypervisorId, URI sdk, String username, String password, Duration timeout, SSLContext ssl,
            Executor executor) {
        this.id = hypervisorId;
        this.sdk = sdk;
        this.username = username;
        this.password = password;
        this.timeout = timeout;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(timeout).executor(executor)
                .cookieHandler(new CookieManager(null, CookiePolicy.ACCEPT_ALL)).version(HttpClient.Version.HTTP_1_1);
        if (ssl != null) {
            builder.sslContext(ssl);
        }
        this.http = builder.build();
    }

    /** The logged-in session's service content: logs in when there is no session yet. */
    CompletionStage<ServiceContent> session() {
        CompletableFuture<ServiceContent> current = login.get();
        if (current != null && !current.isCompletedExceptionally()) {
            return current;
        }
        CompletableFuture<ServiceContent> mine = new CompletableFuture<>();
        if (!login.compareAndSet(current, mine)) {
            return session(); // another caller is logging in: share its outcome
        }
        logIn().whenComplete((content, error) -> {
            if (error != null) {
                mine.completeExceptionally(error);
            } else {
                mine.complete(content);
            }
        });
        return mine;
    }

    /** The key of the current session (vSphere's UserSession.key), for tests and logs; never a secret. */
    String sessionKey() {
        return sessionKey;
    }

    private CompletionStage<ServiceContent> logIn() {
        return post("RetrieveServiceContent", SERVICE_INSTANCE.xml("_this")).thenCompose(response -> {
            Element rv = Xml.child(response, "returnval").orElseThrow(() -> malformed("RetrieveServiceContent"));
            ServiceContent content = new ServiceContent(mor(rv, "rootFolder"), mor(rv, "propertyCollector"),
                    mor(rv, "viewManager"), mor(rv, "searchIndex"), mor(rv, "sessionManager"),
                    Xml.text(rv, "about/apiType"));
            String body = content.sessionManager().xml("_this") + Xml.el("userName", username)
                    + Xml.el("password", password);
            return post("Login", body).thenApply(r -> {
                sessionKey = Xml.text(r, "returnval/key");
                LOG.debugf("Hypervisor %s: logged in to %s (%s)", id, sdk, content.apiType());
                return content;
            });
        });
    }

    /**
     * Calls {@code method} on {@code self} with the given parameter elements (already XML), logged in. A
     * {@code NotAuthenticated} answer logs in again and repeats the call once.
     */
    CompletionStage<Element> call(String method, Mor self, String params) {
        return session().thenCompose(content -> post(method, self.xml("_this") + params)
                .exceptionallyCompose(error -> {
                    Throwable cause = unwrap(error);
                    if (cause instanceof VimFault f && f.is("NotAuthenticated")) {
                        CompletableFuture<ServiceContent> stale = login.get();
                        LOG.infof("Hypervisor %s: session no longer valid; logging in again", id);
                        if (stale != null && stale.isDone() && !stale.isCompletedExceptionally()) {
                            login.compareAndSet(stale, null);
                        }
                        return session().thenCompose(again -> post(method, self.xml("_this") + params));
                    }
                    return CompletableFuture.failedFuture(cause);
                }));
    }

    /** A call on one of the service's managers, chosen from the service content. */
    CompletionStage<Element> call(String method, java.util.function.Function<ServiceContent, Mor> manager,
            String params) {
        return session().thenCompose(content -> call(method, manager.apply(content), params));
    }

    /**
     * Properties {@code paths} of the given objects (all of one {@code type}); objects that are gone are left out
     * (vSphere reports them in missingSet), not errors.
     */
    CompletionStage<List<ObjectContent>> properties(String type, List<Mor> objects, String... paths) {
        if (objects.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        StringBuilder spec = new StringBuilder("<specSet>").append(propSet(type, paths));
        for (Mor o : objects) {
            spec.append("<objectSet>").append(o.xml("obj")).append("<skip>false</skip></objectSet>");
        }
        spec.append("</specSet>");
        return retrieve(spec.toString());
    }

    /** One object's properties; fails with {@code ManagedObjectNotFound} when it is gone. */
    CompletionStage<ObjectContent> properties(Mor object, String... paths) {
        return properties(object.type(), List.of(object), paths).thenApply(list -> list.stream()
                .filter(o -> o.obj().equals(object)).findFirst()
                .orElseThrow(() -> new VimFault("ManagedObjectNotFound", "The object " + object + " has already"
                        + " been deleted or has not been completely created")));
    }

    /** Properties of every object of {@code type} below {@code container} (a folder, datacenter, cluster). */
    CompletionStage<List<ObjectContent>> within(Mor container, String type, String... paths) {
        String params = container.xml("container") + Xml.el("type", type) + Xml.el("recursive", true);
        return call("CreateContainerView", ServiceContent::viewManager, params).thenCompose(created -> {
            Mor view = Xml.mor(Xml.child(created, "returnval").orElseThrow(() -> malformed("CreateContainerView")));
            String spec = "<specSet>" + propSet(type, paths) + "<objectSet>" + view.xml("obj")
                    + "<skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><name>view</name>"
                    + "<type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet>";
            return retrieve(spec).whenComplete((x, e) -> call("DestroyView", view, "").whenComplete((y, f) -> {
                if (f != null) {
                    LOG.debugf("Hypervisor %s: view %s not destroyed: %s", id, view, f.getMessage());
                }
            }));
        });
    }

    /** Logs out, ending the session on the server; errors are only logged (the hypervisor may be gone). */
    CompletionStage<Void> logout() {
        CompletableFuture<ServiceContent> current = login.getAndSet(null);
        if (current == null || !current.isDone() || current.isCompletedExceptionally()) {
            return CompletableFuture.completedFuture(null);
        }
        Mor sessionManager = current.join().sessionManager();
        return post("Logout", sessionManager.xml("_this")).handle((x, e) -> {
            if (e != null) {
                LOG.debugf("Hypervisor %s: logout failed: %s", id, unwrap(e).getMessage());
            }
            return null;
        });
    }

    @Override
    public void close() {
        try {
            logout().toCompletableFuture().get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.debugf("Hypervisor %s: logout on close: %s", id, e.getMessage());
        }
    }

    private CompletionStage<List<ObjectContent>> retrieve(String specSet) {
        return call("RetrievePropertiesEx", ServiceContent::propertyCollector, specSet + "<options/>")
                .thenCompose(r -> collect(r, new ArrayList<>()));
    }

    /** Adds a page of results and fetches the next while the server hands out a continuation token. */
    private CompletionStage<List<ObjectContent>> collect(Element response, List<ObjectContent> into) {
        Element rv = Xml.child(response, "returnval").orElse(null);
        if (rv == null) {
            return CompletableFuture.completedFuture(into); // nothing matched
        }
        for (Element o : Xml.children(rv, "objects")) {
            Map<String, Element> props = new LinkedHashMap<>();
            for (Element p : Xml.children(o, "propSet")) {
                Xml.child(p, "val").ifPresent(v -> props.put(Xml.text(p, "name"), v));
            }
            into.add(new ObjectContent(Xml.mor(Xml.child(o, "obj").orElse(null)), props));
        }
        String token = Xml.text(rv, "token");
        if (token == null || token.isEmpty()) {
            return CompletableFuture.completedFuture(into);
        }
        return call("ContinueRetrievePropertiesEx", ServiceContent::propertyCollector, Xml.el("token", token))
                .thenCompose(r -> collect(r, into));
    }

    private static String propSet(String type, String... paths) {
        StringBuilder b = new StringBuilder("<propSet>").append(Xml.el("type", type));
        for (String p : paths) {
            b.append(Xml.el("pathSet", p));
        }
        return b.append("</propSet>").toString();
    }

    /** One SOAP request; the answer's body element (e.g. {@code LoginResponse}) or a {@link VimFault}. */
    private CompletionStage<Element> post(String method, String params) {
        String envelope = ENVELOPE_START + "<" + method + " xmlns=\"urn:vim25\">" + params + "</" + method + ">"
                + ENVELOPE_END;
        HttpRequest request = HttpRequest.newBuilder(sdk).timeout(timeout)
                .header("Content-Type", "text/xml; charset=utf-8").header("SOAPAction", "urn:vim25/6.0")
                .POST(HttpRequest.BodyPublishers.ofString(envelope, StandardCharsets.UTF_8)).build();
        CompletableFuture<HttpResponse<byte[]>> sent;
        try {
            sent = http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(silence(method, e));
        }
        return sent.handle((response, error) -> {
            if (error != null) {
                // a server that went silent may come back restarted, without our session: log in afresh then
                CompletableFuture<ServiceContent> current = login.get();
                if (current != null && current.isDone()) {
                    login.compareAndSet(current, null);
                }
                throw new CompletionException(silence(method, unwrap(error)));
            }
            return answer(method, response);
        });
    }

    private Element answer(String method, HttpResponse<byte[]> response) {
        Document doc;
        try {
            doc = Xml.parse(response.body());
        } catch (Exception e) {
            throw new HypervisorException("Hypervisor " + id + " answered " + method + " with HTTP "
                    + response.statusCode() + " and no SOAP message", true);
        }
        Element body = Xml.children(doc.getDocumentElement(), "Body").stream().findFirst()
                .orElseThrow(() -> malformed(method));
        Element first = Xml.children(body, null).stream().findFirst().orElseThrow(() -> malformed(method));
        if ("Fault".equals(first.getLocalName())) {
            throw fault(first);
        }
        return first;
    }

    /** A SOAP fault: its detail names the vim25 fault type; faultstring is the server's message. */
    static VimFault fault(Element fault) {
        String message = Xml.text(fault, "faultstring");
        Element detail = Xml.child(fault, "detail").flatMap(d -> Xml.children(d, null).stream().findFirst())
                .orElse(null);
        String type = null;
        if (detail != null) {
            type = Xml.xsiType(detail);
            if (type == null) {
                type = detail.getLocalName();
                if (type.endsWith("Fault") && !type.equals("MethodFault")) {
                    type = type.substring(0, type.length() - "Fault".length());
                }
            }
        }
        return new VimFault(type, message == null || message.isEmpty() ? type : message);
    }

    /** No answer: refused connection, timeout, broken TLS or connection. */
    private HypervisorException silence(String method, Throwable e) {
        String why = e instanceof HttpTimeoutException ? "no answer within " + timeout.toMillis() + " ms"
                : e instanceof ConnectException ? "connection refused"
                : e instanceof SSLException ? "TLS handshake failed (" + e.getMessage() + ")"
                : e instanceof ClosedChannelException ? "connection closed"
                : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        return HypervisorException.unreachable("Hypervisor " + id + " did not answer " + method + ": " + why, e);
    }

    private HypervisorException malformed(String method) {
        return new HypervisorException("Hypervisor " + id + " answered " + method + " with a message this broker"
                + " does not understand", true);
    }

    private static Mor mor(Element parent, String name) {
        return Xml.child(parent, name).map(Xml::mor).orElse(null);
    }

    static Throwable unwrap(Throwable e) {
        Throwable cause = e;
        while ((cause instanceof CompletionException || cause instanceof java.util.concurrent.ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}
