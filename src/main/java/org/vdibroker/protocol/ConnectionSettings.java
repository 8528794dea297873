package org.vdibroker.protocol;

import java.io.Serializable;
import java.util.Map;
import java.util.TreeMap;

/**
 * A pool's settings for the files clients open, by file: {@code rdp} (names as in a {@code .rdp} file, e.g.
 * {@code redirectclipboard}) and {@code vv} (keys of virt-viewer's {@code [virt-viewer]} group, e.g.
 * {@code enable-usbredir}). Values are strings; {@link ConnectionSettingsSchema} says which are allowed.
 */
public record ConnectionSettings(Map<String, String> rdp, Map<String, String> vv) implements Serializable {

    public static final ConnectionSettings NONE = new ConnectionSettings(Map.of(), Map.of());

    public ConnectionSettings {
        // sorted copies: equal settings compare equal and render in a stable order
        rdp = rdp == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(rdp));
        vv = vv == null ? Map.of() : java.util.Collections.unmodifiableMap(new TreeMap<>(vv));
    }
}
