package org.vdibroker.security;

/**
 * User-supplied text made safe for a log line: control characters (line breaks that would forge a second log line,
 * terminal escapes) become '?', and the text is cut to 100 characters.
 */
public final class LogSafe {

    private static final int MAX = 100;

    private LogSafe() {
    }

    public static String of(String text) {
        if (text == null) {
            return "null";
        }
        StringBuilder safe = new StringBuilder(Math.min(text.length(), MAX) + 3);
        text.codePoints().limit(MAX).forEach(c -> {
            if (Character.isISOControl(c) || c == 0x2028 || c == 0x2029 || c == 0x85) {
                safe.append('?');
            } else {
                safe.appendCodePoint(c);
            }
        });
        return text.codePointCount(0, text.length()) > MAX ? safe.append("...").toString() : safe.toString();
    }
}
