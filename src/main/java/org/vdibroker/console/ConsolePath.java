package org.vdibroker.console;

/** Where the console WebSocket listens. */
final class ConsolePath {

    static final String PATH = "/api/v1/console/websocket";

    private ConsolePath() {
    }
}
