package org.vdibroker.access.login;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.vdibroker.api.ProblemException;

/**
 * Parses an application/x-www-form-urlencoded body here rather than in the HTTP layer, whose decoder fails a
 * malformed body (a stray '%') on the event loop without any answer: the client waited forever. Here it gets 400.
 */
final class FormBody {

    private FormBody() {
    }

    static Map<String, String> parse(String body) {
        Map<String, String> fields = new HashMap<>();
        if (body == null || body.isEmpty()) {
            return fields;
        }
        try {
            for (String pair : body.split("&")) {
                int eq = pair.indexOf('=');
                String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                fields.putIfAbsent(name, value);
            }
        } catch (IllegalArgumentException e) {
            throw ProblemException.invalid("the form body is not valid application/x-www-form-urlencoded");
        }
        return fields;
    }
}
