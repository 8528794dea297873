package org.vdibroker.testsupport;

import static io.restassured.RestAssured.given;

import io.restassured.specification.RequestSpecification;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Requests to the broker's management interface (health, metrics, OpenAPI), which listens on its own port, apart
 * from the public one RestAssured is set up for. Tests run it on a free port (quarkus.management.test-port=0).
 */
public final class Management {

    private Management() {
    }

    /** The port the management interface of the running test application listens on. */
    public static int port() {
        return ConfigProvider.getConfig().getValue("quarkus.management.test-port", Integer.class);
    }

    /** A request to the management interface of the running test application. */
    public static RequestSpecification management() {
        return given().port(port());
    }
}
