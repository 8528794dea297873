package org.vdibroker.docs;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checks what README.md and the pages under src/site/markdown name: configuration keys ({@code broker.*} must be a
 * key of BrokerConfig, {@code quarkus.*} a key of an extension on the class path or set in application.properties),
 * endpoints ({@code /api/v1/...} must match an operation of the OpenAPI document, {@code /q/...} a known path),
 * repository files, classes and relative links (must exist, and a link to a heading of a page must name one of its
 * headings). It also checks that no file of the repository points outside it. Every check returns problems as
 * sentences; none means the docs are true.
 */
final class DocsChecker {

    /** Text files whose content is checked for pointers outside the repository. */
    private static final Set<String> TEXT = Set.of("md", "java", "xml", "properties", "yaml", "yml", "json", "sh",
            "txt", "tpl", "sql", "jvm", "html", "js", "css");
    // written in two parts so that this file does not point outside the repository itself
    private static final List<String> OUTSIDE = List.of(".." + "/shared", "/" + "work/");

    private static final Pattern KEY = Pattern.compile(
            "(?<![\\w./-])((?:broker|quarkus)\\.[a-z0-9\"][a-zA-Z0-9.\"*-]*[a-z0-9\"*])");
    private static final Pattern ENDPOINT = Pattern.compile(
            "(/api/v1(?:/[A-Za-z0-9{}$_.\\-]+)*(?:/\\.\\.\\.)?|/q/[a-z/-]+)");
    private static final Pattern FILE = Pattern.compile(
            "`((?:src|config|helm|\\.ci)/[A-Za-z0-9_./{},*-]+|pom\\.xml|README\\.md)`");
    private static final Pattern CLASS = Pattern.compile("\\borg\\.vdibroker\\.[a-z.]*[A-Z]\\w*");
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s#]+)(?:#[^)]*)?\\)");
    /** A link to a heading: the page (empty: this one) and the heading's anchor. */
    private static final Pattern ANCHOR_LINK = Pattern.compile("\\]\\(([^)\\s#]*)#([^)\\s]+)\\)");
    private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.+?)\\s*#*\\s*$", Pattern.MULTILINE);
    /** What a heading's anchor drops: everything but letters, marks, digits, connector punctuation, spaces, dashes. */
    private static final Pattern NOT_IN_ANCHOR = Pattern.compile("[^\\p{L}\\p{M}\\p{N}\\p{Pc} -]");

    private final Path repository;
    private final Set<String> brokerKeys;
    private final Set<Pattern> quarkusKeys;
    private final Set<String> operations;
    private final Set<String> qPaths;

    /**
     * @param brokerKeys every key of BrokerConfig
     * @param quarkusKeys patterns of the Quarkus keys that exist
     * @param operationPaths the OpenAPI document's path templates
     * @param qPaths management paths that answer (e.g. /q/health/ready)
     */
    DocsChecker(Path repository, Set<String> brokerKeys, Set<Pattern> quarkusKeys, Set<String> operationPaths,
            Set<String> qPaths) {
        this.repository = repository;
        this.brokerKeys = brokerKeys;
        this.quarkusKeys = quarkusKeys;
        this.operations = operationPaths;
        this.qPaths = qPaths;
    }

    /** README.md and every page under src/site/markdown. */
    static List<Path> pages(Path repository) {
        List<Path> pages = new ArrayList<>();
        pages.add(repository.resolve("README.md"));
        try (Stream<Path> s = Files.walk(repository.resolve("src/site/markdown"))) {
            s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return pages;
    }

    List<String> checkPages(Collection<Path> pages) throws IOException {
        List<String> problems = new ArrayList<>();
        for (Path page : pages) {
            problems.addAll(check(repository.relativize(page).toString(), Files.readString(page)));
        }
        return problems;
    }

    /** The problems of one page; {@code name} is its path in the repository. */
    List<String> check(String name, String text) {
        List<String> problems = new ArrayList<>();
        Matcher m = KEY.matcher(text);
        while (m.find()) {
            String key = m.group(1);
            if (key.endsWith(".")) {
                key = key.substring(0, key.length() - 1);
            }
            if (!keyExists(key)) {
                problems.add(name + " names the configuration key " + key + ", which does not exist");
            }
        }
        m = ENDPOINT.matcher(text);
        while (m.find()) {
            String path = m.group(1);
            if (!endpointExists(path)) {
                problems.add(name + " names the endpoint " + path + ", which the broker does not serve");
            }
        }
        m = FILE.matcher(text);
        while (m.find()) {
            String file = m.group(1);
            if (!fileExists(file)) {
                problems.add(name + " names the file " + file + ", which is not in the repository");
            }
        }
        m = CLASS.matcher(text);
        while (m.find()) {
            String cls = m.group();
            String path = cls.replace('.', '/') + ".java";
            if (!Files.exists(repository.resolve("src/main/java/" + path))
                    && !Files.exists(repository.resolve("src/test/java/" + path))) {
                problems.add(name + " names the class " + cls + ", which does not exist");
            }
        }
        m = LINK.matcher(text);
        while (m.find()) {
            String target = m.group(1);
            if (target.matches("^[a-z]+:.*")) {
                continue; // http:, https:, mailto:
            }
            Path resolved = linked(name, target);
            if (!inRepository(resolved)) {
                problems.add(name + " links to " + target + ", which is not in the repository");
            }
        }
        m = ANCHOR_LINK.matcher(text);
        Map<Path, Set<String>> anchorsOf = new HashMap<>(); // a page is read once however often it is linked to
        while (m.find()) {
            String target = m.group(1);
            if (!target.isEmpty() && !target.endsWith(".md")) {
                continue; // an external page, or a file without headings
            }
            Path page = target.isEmpty() ? repository.resolve(name) : linked(name, target);
            if (!target.isEmpty() && !inRepository(page)) {
                continue; // reported above as a missing file
            }
            Set<String> anchors = anchorsOf.computeIfAbsent(page,
                    p -> anchors(target.isEmpty() ? text : read(p)));
            if (!anchors.contains(m.group(2))) {
                problems.add(name + " links to the heading #" + m.group(2) + " of "
                        + (target.isEmpty() ? "itself" : target) + ", which has no such heading");
            }
        }
        for (String outside : OUTSIDE) {
            if (text.contains(outside)) {
                problems.add(name + " points outside the repository (" + outside + ")");
            }
        }
        return problems;
    }

    /**
     * The anchors a Markdown renderer (GitHub's, and the site's) gives the headings of a page: the heading's text in
     * lower case, without punctuation, spaces as dashes; a text that comes again gets -1, -2, ...
     */
    static Set<String> anchors(String page) {
        Set<String> anchors = new HashSet<>();
        Matcher m = HEADING.matcher(page.replaceAll("(?ms)^```.*?^```", ""));
        while (m.find()) {
            String anchor = NOT_IN_ANCHOR.matcher(m.group(1).toLowerCase(Locale.ROOT)).replaceAll("")
                    .replace(' ', '-');
            String unique = anchor;
            for (int n = 1; !anchors.add(unique); n++) {
                unique = anchor + "-" + n;
            }
        }
        return anchors;
    }

    /** Where a relative link {@code target} on the page {@code name} points. */
    private Path linked(String name, String target) {
        Path base = repository.resolve(name).getParent();
        return (base == null ? repository : base).resolve(target).normalize();
    }

    /** Whether a linked file exists inside the repository (not outside it, as {@code ../} could reach). */
    private boolean inRepository(Path linked) {
        return linked.startsWith(repository) && Files.exists(linked);
    }

    private static String read(Path page) {
        try {
            return Files.readString(page);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    boolean keyExists(String key) {
        if (key.startsWith("broker.")) {
            // a family written as broker.login.rate-limit.* or a prefix of keys (broker.pool-manager) is fine
            String k = key.endsWith(".*") ? key.substring(0, key.length() - 2) : key;
            return brokerKeys.contains(k) || brokerKeys.stream().anyMatch(b -> b.startsWith(k + "."));
        }
        String k = key.endsWith(".*") ? key.substring(0, key.length() - 2) : key;
        return quarkusKeys.stream().anyMatch(p -> p.matcher(k).matches()
                || p.pattern().startsWith(Pattern.quote(k + ".")) || p.matcher(k + ".x").matches());
    }

    boolean endpointExists(String path) {
        if (path.startsWith("/q/")) {
            String p = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
            return qPaths.contains(p);
        }
        boolean prefix = path.endsWith("/...");
        String p = prefix ? path.substring(0, path.length() - 4) : path;
        if (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        String[] want = p.split("/");
        for (String op : operations) {
            String[] have = op.split("/");
            if (have.length < want.length || (!prefix && have.length != want.length)) {
                continue;
            }
            boolean match = true;
            for (int i = 0; i < want.length && match; i++) {
                match = have[i].equals(want[i]) || have[i].startsWith("{") || want[i].startsWith("{")
                        || want[i].startsWith("$");
            }
            if (match) {
                return true;
            }
        }
        return false;
    }

    boolean fileExists(String file) {
        if (file.contains("{")) { // src/main/java/org/vdibroker/{access, admin}: check the part before the brace
            file = file.substring(0, file.indexOf('{'));
        }
        if (file.contains("*")) {
            file = file.substring(0, file.indexOf('*'));
        }
        return Files.exists(repository.resolve(file));
    }

    /** Files of the repository (without build output) that point outside it. */
    List<String> pointersOutside() throws IOException {
        List<String> problems = new ArrayList<>();
        try (Stream<Path> s = Files.walk(repository)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path rel = repository.relativize(p);
                String first = rel.getNameCount() > 0 ? rel.getName(0).toString() : "";
                if (first.equals("target") || first.equals(".git") || first.equals("data") || !Files.isRegularFile(p)
                        || rel.toString().contains("/target/")) {
                    continue;
                }
                String fileName = p.getFileName().toString();
                String ext = fileName.contains(".") ? fileName.substring(fileName.lastIndexOf('.') + 1) : fileName;
                if (!TEXT.contains(ext) && !fileName.startsWith("Dockerfile") && !rel.startsWith(".ci")) {
                    continue;
                }
                String text = new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
                for (String outside : OUTSIDE) {
                    if (text.contains(outside)) {
                        problems.add(rel + " points outside the repository (" + outside + ")");
                    }
                }
            }
        }
        return problems;
    }

    /**
     * The Quarkus keys that exist: those documented by the extensions on the class path (each extension jar carries
     * META-INF/quarkus-config-doc/quarkus-config-model.json; a named part such as {@code "tenant"} matches any
     * name), and those set in application.properties.
     */
    static Set<Pattern> quarkusKeys(Path repository) throws IOException {
        Set<String> names = new LinkedHashSet<>();
        Pattern property = Pattern.compile("\"property\"\\s*:\\s*\"(quarkus\\.[^\"]*(?:\\\\\"[^\"]*\\\\\"[^\"]*)*)\"");
        Enumeration<URL> models = DocsChecker.class.getClassLoader()
                .getResources("META-INF/quarkus-config-doc/quarkus-config-model.json");
        while (models.hasMoreElements()) {
            try (InputStream in = models.nextElement().openStream()) {
                Matcher m = property.matcher(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                while (m.find()) {
                    names.add(m.group(1).replace("\\\"", "\""));
                }
            }
        }
        for (String props : List.of("src/main/resources/application.properties",
                "src/test/resources/application.properties")) {
            Path p = repository.resolve(props);
            if (Files.exists(p)) {
                for (String line : Files.readAllLines(p)) {
                    line = line.replaceFirst("^%[\\w,-]+\\.", "");
                    if (line.startsWith("quarkus.") && line.contains("=")) {
                        names.add(line.substring(0, line.indexOf('=')).trim());
                    }
                }
            }
        }
        Set<Pattern> patterns = new HashSet<>();
        for (String n : names) {
            // "name" parts (quoted) and [index] parts stand for any value
            String regex = Pattern.quote(n).replaceAll("\"[^\"]*\"", "\\\\E(?:\"[^\"]*\"|[a-zA-Z0-9_-]+)\\\\Q")
                    .replace("[*]", "\\E\\[\\d+\\]\\Q");
            patterns.add(Pattern.compile(regex));
        }
        return patterns;
    }
}
