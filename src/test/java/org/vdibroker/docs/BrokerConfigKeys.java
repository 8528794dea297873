package org.vdibroker.docs;

import io.smallrye.config.WithDefault;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.vdibroker.BrokerConfig;

/**
 * Every key of {@link BrokerConfig} with its default and the first sentence of its javadoc, read from the interface
 * (keys, defaults) and its source file (javadoc, which is not kept in the class file). The configuration table of
 * operations.md is generated from this, so the page cannot drift from the code.
 */
final class BrokerConfigKeys {

    record Key(String name, String defaultValue, String doc) {
    }

    private static final Pattern MEMBER = Pattern.compile(
            "(?:/\\*\\*((?:(?!\\*/).)*)\\*/\\s*)?(?:@\\w+(?:\\([^)]*\\))?\\s*)*[\\w.<>]+\\s+(\\w+)\\(\\)\\s*;",
            Pattern.DOTALL);
    private static final Pattern INTERFACE = Pattern.compile("\\binterface\\s+(\\w+)[^{]*\\{");

    private BrokerConfigKeys() {
    }

    /** The keys, sorted by name. */
    static List<Key> all(Path repository) throws IOException {
        Map<String, String> docs = javadoc(Files.readString(
                repository.resolve("src/main/java/org/vdibroker/BrokerConfig.java")));
        List<Key> keys = new ArrayList<>();
        collect(BrokerConfig.class, "broker", docs, keys);
        keys.sort(Comparator.comparing(Key::name));
        return keys;
    }

    private static void collect(Class<?> type, String prefix, Map<String, String> docs, List<Key> into) {
        Method[] methods = type.getDeclaredMethods();
        Arrays.sort(methods, Comparator.comparing(Method::getName));
        for (Method m : methods) {
            if (m.isSynthetic() || m.isDefault() || m.getParameterCount() > 0) {
                continue;
            }
            String name = prefix + "." + kebab(m.getName());
            Class<?> rt = m.getReturnType();
            if (rt.isInterface() && rt.getName().startsWith(BrokerConfig.class.getName())) {
                collect(rt, name, docs, into);
                continue;
            }
            WithDefault def = m.getAnnotation(WithDefault.class);
            String doc = docs.getOrDefault(type.getSimpleName() + "." + m.getName(), "");
            into.add(new Key(name, def == null ? (rt == Optional.class ? "(none)" : "(required)") : def.value(), doc));
        }
    }

    static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase();
    }

    /** "Interface.method" to the method's javadoc, as one line. */
    static Map<String, String> javadoc(String source) {
        // which interface each offset belongs to, by brace depth
        Deque<Object[]> open = new ArrayDeque<>();
        Matcher im = INTERFACE.matcher(source);
        List<int[]> starts = new ArrayList<>();
        List<String> names = new ArrayList<>();
        while (im.find()) {
            starts.add(new int[] {im.end() - 1});
            names.add(im.group(1));
        }
        String[] ownerAt = new String[source.length()];
        int next = 0;
        for (int i = 0; i < source.length(); i++) {
            char c = source.charAt(i);
            if (c == '{') {
                String n = next < starts.size() && starts.get(next)[0] == i ? names.get(next++) : null;
                open.push(new Object[] {n});
            } else if (c == '}' && !open.isEmpty()) {
                open.pop();
            }
            String current = null;
            for (Object[] o : open) {
                if (o[0] != null) {
                    current = (String) o[0];
                    break;
                }
            }
            ownerAt[i] = current;
        }
        Map<String, String> docs = new HashMap<>();
        Matcher mm = MEMBER.matcher(source);
        while (mm.find()) {
            String iface = ownerAt[mm.start(2)];
            if (iface == null || mm.group(1) == null) {
                continue;
            }
            String text = mm.group(1).replaceAll("(?m)^\\s*\\*\\s?", " ").replaceAll("\\{@code ([^}]*)}", "`$1`")
                    .replaceAll("\\{@link ([^}]*)}", "`$1`").replaceAll("\\s+", " ").trim();
            docs.put(iface + "." + mm.group(2), text);
        }
        return docs;
    }

    /** The markdown table operations.md carries between its config markers. */
    static String table(List<Key> keys) {
        StringBuilder sb = new StringBuilder("| key | default | meaning |\n| --- | --- | --- |\n");
        for (Key k : keys) {
            sb.append("| `").append(k.name()).append("` | ");
            sb.append(k.defaultValue().startsWith("(") ? k.defaultValue() : "`" + k.defaultValue() + "`");
            sb.append(" | ").append(k.doc().replace("|", "\\|")).append(" |\n");
        }
        return sb.toString();
    }
}
