package org.vdibroker.api;

import java.util.Map;

/** Ends a request with a problem document; thrown by services for anything the caller got wrong. */
public class ProblemException extends RuntimeException {

    private final transient Problem problem;

    public ProblemException(int status, String type, String title, String detail) {
        super(title + ": " + detail, null, false, false);
        this.problem = Problem.of(status, type, title, detail);
    }

    public ProblemException(int status, String type, String title, String detail, Map<String, Object> errors) {
        super(title + ": " + detail, null, false, false);
        this.problem = new Problem(Problem.of(status, type, title, detail).type(), title, status, detail, errors);
    }

    public Problem problem() {
        return problem;
    }

    public static ProblemException notFound(String what, String id) {
        return new ProblemException(404, "not-found", "Not found", what + " " + id + " does not exist");
    }

    public static ProblemException invalid(String detail) {
        return new ProblemException(400, "invalid-request", "Invalid request", detail);
    }

    public static ProblemException conflict(String detail) {
        return new ProblemException(409, "conflict", "Conflict", detail);
    }
}
