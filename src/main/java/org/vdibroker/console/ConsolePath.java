package org.vdibroker.console;

/** Where the console WebSocket listens. */
public final class ConsolePath {

    public static final String PATH = "/api/v1/console/websocket";

    private ConsolePath() {
    }
}
