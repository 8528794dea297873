package org.vdibroker.protocol;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import org.infinispan.protostream.annotations.ProtoField;

/**
 * A pool's settings for the files clients open, by file: {@code rdp} (names as in a {@code .rdp} file, e.g.
 * {@code redirectclipboard}) and {@code vv} (keys of virt-viewer's {@code [virt-viewer]} group, e.g.
 * {@code enable-usbredir}). Values are strings; {@link ConnectionSettingsSchema} says which are allowed.
 */
public record ConnectionSettings(@ProtoField(number = 1, mapImplementation = HashMap.class) Map<String, String> rdp,
        @ProtoField(number = 2, mapImplementation = HashMap.class) Map<String, String> vv) implements Serializable {

    public static final ConnectionSettings NONE = new ConnectionSettings(Map.of(), Map.of());

    public ConnectionSettings {
        // immutable copies (the cluster's marshaller admits them); a null value means "not set". The files are
        // written in the schema's order, not the map's.
        rdp = copy(rdp);
        vv = copy(vv);
    }

    private static Map<String, String> copy(Map<String, String> settings) {
        if (settings == null) {
            return Map.of();
        }
        Map<String, String> set = new java.util.HashMap<>();
        settings.forEach((k, v) -> {
            if (k != null && v != null) {
                set.put(k, v);
            }
        });
        return Map.copyOf(set);
    }
}
