package org.vdibroker.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * One version of a probe value class for the rolling-upgrade tests: an enum {@code Status} and a record {@code Value}
 * (its id and status first), compiled from source in a class loader of its own, so two versions live side by side
 * as on an old and a new node.
 */
final class ProbeVersions {

    private ProbeVersions() {
    }

    /**
     * Compiles {@code sources} (compilation units separated by "---", each with one public type) into package
     * {@code pkg}, each unit starting with {@code imports}, and loads them in a new class loader.
     */
    static ClassLoader compile(Path dir, String name, String pkg, String imports, String sources,
            List<String> javacOptions) throws Exception {
        Path src = dir.resolve(name + "-src");
        Path out = dir.resolve(name + "-classes");
        Files.createDirectories(src);
        Files.createDirectories(out);
        List<String> files = new ArrayList<>();
        for (String unit : sources.split("---")) {
            String code = unit.strip();
            String type = code.replaceFirst("(?s)^.*?public (?:enum|record|interface) (\\w+).*$", "$1");
            Path f = src.resolve(type + ".java");
            Files.writeString(f, "package " + pkg + ";\n" + imports + code + "\n");
            files.add(f.toString());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> args = new ArrayList<>(List.of("-d", out.toString(), "--release", "17"));
        args.addAll(javacOptions);
        args.addAll(files);
        assertThat(javac.run(null, null, null, args.toArray(String[]::new))).as("javac of version " + name).isZero();
        return new URLClassLoader(new URL[] {out.toUri().toURL()}, ProbeVersions.class.getClassLoader());
    }

    /** A {@code Value} of the version in {@code loader}: its id, its status by name, then its further components. */
    static Object value(ClassLoader loader, String pkg, String id, String status, Object... rest) throws Exception {
        Class<?> type = loader.loadClass(pkg + ".Value");
        Class<?> statusType = loader.loadClass(pkg + ".Status");
        Object[] args = new Object[2 + rest.length];
        args[0] = id;
        args[1] = statusType.getMethod("valueOf", String.class).invoke(null, status);
        System.arraycopy(rest, 0, args, 2, rest.length);
        return type.getDeclaredConstructors()[0].newInstance(args);
    }

    /** A record's components in order, enums by name. */
    static List<Object> components(Object record) throws Exception {
        List<Object> values = new ArrayList<>();
        for (var c : record.getClass().getRecordComponents()) {
            Object v = c.getAccessor().invoke(record);
            values.add(v instanceof Enum<?> e ? e.name() : v);
        }
        return values;
    }
}
