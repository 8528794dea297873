package org.vdibroker.protocol;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The settings of an {@code .rdp} file in the order they are written: {@code name:type:value}, one per line, CRLF.
 * A later {@link #set} of the same name replaces the value in place.
 */
public final class RdpFile {

    /** One line of the file. */
    public record Setting(String name, String type, String value) {
        public String line() {
            return name + ":" + type + ":" + value;
        }
    }

    private final Map<String, Setting> settings = new LinkedHashMap<>();

    public RdpFile set(String name, String type, String value) {
        settings.put(name, new Setting(name, type, oneLine(value)));
        return this;
    }

    public RdpFile set(String name, int value) {
        return set(name, "i", Integer.toString(value));
    }

    public RdpFile set(String name, String value) {
        return set(name, "s", value);
    }

    public Setting get(String name) {
        return settings.get(name);
    }

    public List<Setting> settings() {
        return new ArrayList<>(settings.values());
    }

    public String render() {
        StringBuilder b = new StringBuilder();
        settings.values().forEach(s -> b.append(s.line()).append("\r\n"));
        return b.toString();
    }

    /** Keeps every value, including user-controlled text, on its own line. */
    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("[\\r\\n\\x00]", " ");
    }
}
