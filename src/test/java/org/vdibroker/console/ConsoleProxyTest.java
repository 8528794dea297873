package org.vdibroker.console;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Api.ADMIN;
import static org.vdibroker.testsupport.Api.await;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import jakarta.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.vdibroker.testsupport.Api;
import org.vdibroker.testsupport.Tokens;

/**
 * The browser console's WebSocket proxy: it carries RFB bytes both ways to the VM's console, opens once per
 * one-time ticket, only from the broker's own origin, within a per-user limit, and closes when the session ends.
 * The simulator reports a console port where this test listens as a stand-in VNC server (it speaks only the RFB
 * greeting); the real guest's screen through noVNC is shown by BrowserDesktopIT.
 */
@QuarkusTest
class ConsoleProxyTest {

    @TestHTTPResource("/")
    URL base;

    @Inject
    Vertx vertx;

    private final List<AutoCloseable> closeLater = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closeLater) {
            c.close();
        }
    }

    @Test
    void consoleCarriesBytesOncePerTicketFromTheOwnOriginWithinTheLimitUntilTheSessionEnds() throws Exception {
        int basePort = freePort();
        given().auth().oauth2(ADMIN).contentType(ContentType.JSON)
                .body(Map.of("id", "sim-console", "driver", "simulator", "endpoint", "simulator://sim-console",
                        "config", Map.of("cloneLatencyMs", "50", "bootLatencyMs", "50",
                                "consoleBasePort", String.valueOf(basePort)),
                        "capacity", Map.of("vcpus", 1000, "memoryMb", 1_000_000, "maxDesktops", 10)))
                .post("/api/v1/admin/hypervisors").then().statusCode(201);
        Api.createPool(Api.pool("console", "floating", 1, 1, 3, "sim-console", List.of("/engineering")));
        await("ready desktop", Duration.ofSeconds(30), () -> Api.desktopsIn("console", "READY") >= 1);

        String carol = Tokens.user("carol", "/engineering");
        JsonPath session = given().auth().oauth2(carol).contentType(ContentType.JSON).body("{\"protocol\":\"vnc\"}")
                .post("/api/v1/me/pools/console/desktop").then().statusCode(200).extract().jsonPath();
        String sessionId = session.getString("id");
        FakeVnc vnc = new FakeVnc(session.getInt("connection.port"));
        closeLater.add(vnc);

        // who may ask for a ticket
        given().post("/api/v1/console/sessions/" + sessionId + "/ticket").then().statusCode(401);
        given().auth().oauth2(Tokens.user("mallory", "/engineering"))
                .post("/api/v1/console/sessions/" + sessionId + "/ticket").then().statusCode(404);

        String ticket = ticket(carol, sessionId);
        String own = "http://" + base.getHost() + ":" + base.getPort();
        assertThat(refusal("http://evil.example", ticket)).as("another origin").isEqualTo(403);
        assertThat(refusal(null, ticket)).as("no origin").isEqualTo(403);

        CompletableFuture<String> greeting = new CompletableFuture<>();
        WebSocket ws = open(own, ticket, b -> greeting.complete(b.toString(StandardCharsets.US_ASCII)));
        assertThat(greeting.get(10, TimeUnit.SECONDS)).isEqualTo("RFB 003.008\n");
        ws.writeBinaryMessage(Buffer.buffer("RFB 003.008\n"));
        await("the client's bytes at the VM's console", Duration.ofSeconds(10),
                () -> vnc.received().contains("RFB 003.008\n"));

        assertThat(refusal(own, ticket)).as("the same ticket again").isEqualTo(403);
        assertThat(refusal(own, "made-up")).as("an unknown ticket").isEqualTo(403);

        WebSocket second = open(own, ticket(carol, sessionId));
        assertThat(refusal(own, ticket(carol, sessionId))).as("a third console for one user").isEqualTo(429);

        CompletableFuture<Void> closed = new CompletableFuture<>();
        ws.closeHandler(v -> closed.complete(null));
        given().auth().oauth2(carol).post("/api/v1/me/sessions/" + sessionId + "/logoff").then().statusCode(200);
        closed.get(10, TimeUnit.SECONDS);
        await("every console of the session closed", Duration.ofSeconds(10), second::isClosed);
    }

    @Test
    void theProxyAnswersPlainRequestsWithAProblem() {
        given().queryParam("ticket", "x").get("/api/v1/console/websocket").then().statusCode(400)
                .contentType("application/problem+json")
                .body("type", org.hamcrest.Matchers.endsWith("/websocket-required"));
    }

    private String ticket(String token, String sessionId) {
        return given().auth().oauth2(token).post("/api/v1/console/sessions/" + sessionId + "/ticket").then()
                .statusCode(200).extract().path("ticket");
    }

    private WebSocket open(String origin, String ticket) throws Exception {
        return open(origin, ticket, null);
    }

    /**
     * Opens a console; {@code onBinary} is set as soon as the upgrade completes, on the connection's event loop: the
     * proxy forwards the VNC server's greeting right after the upgrade, and a handler set later by the test thread
     * could miss it.
     */
    private WebSocket open(String origin, String ticket, io.vertx.core.Handler<Buffer> onBinary) throws Exception {
        HttpClient client = vertx.createHttpClient();
        WebSocketConnectOptions options = new WebSocketConnectOptions().setHost(base.getHost()).setPort(base.getPort())
                .setURI("/api/v1/console/websocket?ticket=" + ticket);
        if (origin != null) {
            options.addHeader("Origin", origin);
        } else {
            options.setAllowOriginHeader(false); // Vert.x would send one of its own
        }
        io.vertx.core.Future<WebSocket> opening = client.webSocket(options);
        if (onBinary != null) {
            opening = opening.onSuccess(ws -> ws.binaryMessageHandler(onBinary));
        }
        WebSocket ws = opening.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        closeLater.add(() -> {
            if (!ws.isClosed()) {
                ws.close();
            }
        });
        return ws;
    }

    /** The status of a refused upgrade (fails when the upgrade succeeds). */
    private int refusal(String origin, String ticket) throws Exception {
        try {
            open(origin, ticket);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof UpgradeRejectedException rejected) {
                return rejected.getStatus();
            }
            throw e;
        }
        throw new AssertionError("the console opened");
    }

    /**
     * A base port for the simulator's consoles with the ten ports after it free, below the kernel's ephemeral range
     * (32768 and up here): a port picked from that range could be taken by any outgoing connection of this JVM
     * before the stand-in VNC server binds the desktop's port.
     */
    private static int freePort() throws Exception {
        int start = 20_000 + 10 * java.util.concurrent.ThreadLocalRandom.current().nextInt(1_000);
        for (int base = start; base < 30_000; base += 10) {
            if (freeBlock(base, 10)) {
                return base;
            }
        }
        throw new IllegalStateException("no ten free ports in a row between " + start + " and 30000");
    }

    private static boolean freeBlock(int base, int count) {
        for (int port = base; port < base + count; port++) {
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                // bound: free
            } catch (java.io.IOException taken) {
                return false;
            }
        }
        return true;
    }

    /** A stand-in VNC server: sends the RFB 3.8 greeting to each client and records what it receives. */
    static final class FakeVnc implements AutoCloseable {
        private final ServerSocket server;
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();

        FakeVnc(int port) throws Exception {
            server = new ServerSocket(port, 10, InetAddress.getLoopbackAddress());
            daemon(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        daemon(() -> serve(s));
                    } catch (Exception e) {
                        return;
                    }
                }
            });
        }

        private static void daemon(Runnable r) {
            Thread t = new Thread(r, "fake-vnc");
            t.setDaemon(true);
            t.start();
        }

        private void serve(Socket s) {
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                out.write("RFB 003.008\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                byte[] buf = new byte[1024];
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (received) {
                        received.write(buf, 0, n);
                    }
                }
            } catch (Exception ignored) {
                // the proxy closed it
            }
        }

        String received() {
            synchronized (received) {
                return received.toString(StandardCharsets.US_ASCII);
            }
        }

        @Override
        public void close() throws Exception {
            server.close();
        }
    }
}
