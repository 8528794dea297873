package org.vdibroker.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What each client file accepts per pool, as data ({@code protocol/connection-settings.json}, in the manner of
 * Guacamole's protocol parameter schemas): the settings an admin may set with their types and allowed values, the
 * defaults the broker writes, and the settings the broker writes itself, which a pool may not override.
 */
public final class ConnectionSettingsSchema {

    /** The longest value accepted for any setting but a CA certificate. */
    static final int MAX_VALUE_LENGTH = 512;
    static final int MAX_PEM_LENGTH = 16_384;
    static final int MAX_SETTINGS = 64;

    private static final ConnectionSettingsSchema INSTANCE = load();

    private final Map<String, Map<String, Spec>> settings;
    private final Map<String, Set<String>> reserved;

    private ConnectionSettingsSchema(Map<String, Map<String, Spec>> settings, Map<String, Set<String>> reserved) {
        this.settings = settings;
        this.reserved = reserved;
    }

    public static ConnectionSettingsSchema get() {
        return INSTANCE;
    }

    /** One allowed setting: type {@code i}, {@code s} or {@code pem}, and what its value may be. */
    record Spec(String type, Set<Long> values, Long min, Long max, Pattern pattern, String defaultValue) {

        String check(String value) {
            if (value == null || value.isEmpty()) {
                return "must not be empty";
            }
            switch (type) {
                case "i" -> {
                    long n;
                    try {
                        n = Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        return "must be a whole number";
                    }
                    if (values != null && !values.contains(n)) {
                        return "must be one of " + values.stream().sorted().toList();
                    }
                    if ((min != null && n < min) || (max != null && n > max)) {
                        return "must be from " + min + " to " + max;
                    }
                    return null;
                }
                case "pem" -> {
                    return checkPem(value);
                }
                default -> {
                    if (value.length() > MAX_VALUE_LENGTH) {
                        return "must be at most " + MAX_VALUE_LENGTH + " characters";
                    }
                    return pattern.matcher(value).matches() ? null : "has an invalid value";
                }
            }
        }

        private static String checkPem(String value) {
            if (value.length() > MAX_PEM_LENGTH) {
                return "must be at most " + MAX_PEM_LENGTH + " characters";
            }
            if (!value.strip().startsWith("-----BEGIN CERTIFICATE-----")) {
                return "must be a PEM certificate";
            }
            try {
                CertificateFactory.getInstance("X.509")
                        .generateCertificates(new ByteArrayInputStream(value.getBytes(StandardCharsets.US_ASCII)));
                return null;
            } catch (CertificateException e) {
                return "is not a readable PEM certificate";
            }
        }
    }

    /**
     * Errors by field ({@code connectionSettings.rdp.redirectdrives}), empty when the settings are acceptable:
     * unknown settings, settings the broker writes itself, and values a client would not understand are named.
     */
    public Map<String, Object> validate(ConnectionSettings s) {
        Map<String, Object> errors = new LinkedHashMap<>();
        if (s == null) {
            return errors;
        }
        check("rdp", s.rdp(), errors);
        check("vv", s.vv(), errors);
        return errors;
    }

    private void check(String file, Map<String, String> given, Map<String, Object> errors) {
        if (given.size() > MAX_SETTINGS) {
            errors.put("connectionSettings." + file, "at most " + MAX_SETTINGS + " settings");
            return;
        }
        Map<String, Spec> allowed = settings.get(file);
        for (Map.Entry<String, String> e : given.entrySet()) {
            String name = e.getKey();
            String field = "connectionSettings." + file + "." + printable(name);
            if (reserved.get(file).contains(name.toLowerCase(Locale.ROOT))) {
                errors.put(field, "is written by the broker and cannot be set per pool");
                continue;
            }
            Spec spec = allowed.get(name);
            if (spec == null) {
                errors.put(field, "unknown " + file + " setting");
                continue;
            }
            String problem = spec.check(e.getValue());
            if (problem != null) {
                errors.put(field, problem);
            }
        }
    }

    /** The value to write for each allowed setting: the pool's, else the schema's default; in a stable order. */
    public Map<String, String> effective(String file, Map<String, String> pool) {
        Map<String, String> out = new LinkedHashMap<>();
        settings.get(file).forEach((name, spec) -> {
            String value = pool.get(name) != null ? pool.get(name) : spec.defaultValue();
            if (value != null) {
                out.put(name, value);
            }
        });
        return out;
    }

    /** The type letter of an .rdp setting ({@code i} or {@code s}). */
    public String rdpType(String name) {
        Spec spec = settings.get("rdp").get(name);
        return spec == null ? "s" : spec.type();
    }

    private static String printable(String name) {
        String cut = name.length() > 64 ? name.substring(0, 64) + "..." : name;
        return cut.replaceAll("\\p{Cntrl}", "?");
    }

    private static ConnectionSettingsSchema load() {
        try (InputStream in = ConnectionSettingsSchema.class.getResourceAsStream(
                "/protocol/connection-settings.json")) {
            if (in == null) {
                throw new IllegalStateException("protocol/connection-settings.json is missing from the class path");
            }
            JsonNode root = new ObjectMapper().readTree(in);
            Map<String, Map<String, Spec>> settings = new LinkedHashMap<>();
            Map<String, Set<String>> reserved = new LinkedHashMap<>();
            for (String file : new String[] { "rdp", "vv" }) {
                Map<String, Spec> specs = new LinkedHashMap<>();
                root.get(file).get("settings").fields()
                        .forEachRemaining(f -> specs.put(f.getKey(), spec(f.getValue())));
                settings.put(file, specs);
                Set<String> names = new HashSet<>();
                root.get(file).get("reserved").forEach(n -> names.add(n.asText().toLowerCase(Locale.ROOT)));
                reserved.put(file, Set.copyOf(names));
            }
            return new ConnectionSettingsSchema(settings, reserved);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Spec spec(JsonNode n) {
        Set<Long> values = null;
        if (n.has("values")) {
            values = new HashSet<>();
            for (JsonNode v : n.get("values")) {
                values.add(v.asLong());
            }
        }
        return new Spec(n.get("type").asText(), values, n.has("min") ? n.get("min").asLong() : null,
                n.has("max") ? n.get("max").asLong() : null,
                n.has("pattern") ? Pattern.compile(n.get("pattern").asText()) : null,
                n.has("default") ? n.get("default").asText() : null);
    }
}
