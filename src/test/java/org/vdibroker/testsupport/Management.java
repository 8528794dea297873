package org.vdibroker.testsupport;

import static io.restassured.RestAssured.given;

import io.restassured.specification.RequestSpecification;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Requests to the broker's management interface (health, metrics, OpenAPI), which listens on its own port, apart
 * from the public one RestAssured is set up for. @QuarkusTests run it on a free port (quarkus.management
 * .test-port=0, resolved by Quarkus); a @QuarkusIntegrationTest's packaged broker gets a free one through
 * quarkus.test.arg-line, and its log says which.
 */
public final class Management {

    private static final Path IT_LOG = Path.of("target", "quarkus.log");
    private static final Pattern LISTENING = Pattern.compile("Management interface listening on https?://[^:]+:(\\d+)");

    private Management() {
    }

    /** The port the management interface of the running test application listens on. */
    public static int port() {
        int test = ConfigProvider.getConfig().getOptionalValue("quarkus.management.test-port", Integer.class).orElse(0);
        return test > 0 ? test : fromIntegrationTestLog();
    }

    /** A request to the management interface of the running test application. */
    public static RequestSpecification management() {
        return given().port(port());
    }

    /** The port the packaged broker of a @QuarkusIntegrationTest logged last (its log is new for each launch). */
    private static int fromIntegrationTestLog() {
        try {
            Matcher m = LISTENING.matcher(Files.readString(IT_LOG));
            int port = 0;
            while (m.find()) {
                port = Integer.parseInt(m.group(1));
            }
            if (port == 0) {
                throw new IllegalStateException("no management port in " + IT_LOG
                        + " nor quarkus.management.test-port");
            }
            return port;
        } catch (IOException e) {
            throw new UncheckedIOException("no management port: " + IT_LOG + " unreadable", e);
        }
    }
}
