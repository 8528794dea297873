package org.vdibroker.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Management.management;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The documentation is true to the running broker: every key, endpoint, file and link that README.md and
 * src/site/markdown name exists; api.md documents exactly the operations of the OpenAPI document; operations.md's
 * configuration table is the one generated from BrokerConfig (regenerate it with
 * {@code -Ddocs.regenerate=true -Dtest=DocsTest}).
 */
@QuarkusTest
class DocsTest {

    static final Path REPO = Path.of("").toAbsolutePath();
    private static final Set<String> METHODS = Set.of("get", "post", "put", "delete", "patch");
    private static final Pattern HEADING = Pattern.compile("(?m)^### (GET|POST|PUT|DELETE|PATCH) (/\\S*)\\s*$");
    static final String CONFIG_BEGIN = "<!-- broker-config:begin (generated from BrokerConfig by DocsTest) -->\n";
    static final String CONFIG_END = "<!-- broker-config:end -->";

    @Test
    void docsNameOnlyWhatExists() throws Exception {
        JsonNode openapi = openapi();
        Set<String> paths = new TreeSet<>();
        openapi.get("paths").fieldNames().forEachRemaining(paths::add);
        // the console WebSocket is served outside JAX-RS, so the OpenAPI document does not list it
        paths.add(org.vdibroker.console.ConsolePath.PATH);

        List<Path> pages = DocsChecker.pages(REPO);
        Set<String> qPaths = answeringManagementPaths(pages);
        DocsChecker checker = new DocsChecker(REPO, brokerKeys(), DocsChecker.quarkusKeys(REPO), paths, qPaths);
        List<String> problems = new ArrayList<>(checker.checkPages(pages));
        problems.addAll(checker.pointersOutside());
        assertThat(problems).as("docs naming what does not exist").isEmpty();
    }

    @Test
    void apiPageDocumentsEveryOperation() throws Exception {
        Set<String> operations = new TreeSet<>();
        JsonNode paths = openapi().get("paths");
        for (Iterator<Map.Entry<String, JsonNode>> it = paths.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            e.getValue().fieldNames().forEachRemaining(m -> {
                if (METHODS.contains(m)) {
                    operations.add(m.toUpperCase() + " " + e.getKey());
                }
            });
        }
        String api = Files.readString(REPO.resolve("src/site/markdown/api.md"));
        Set<String> documented = new TreeSet<>();
        Matcher m = HEADING.matcher(api);
        while (m.find()) {
            documented.add(m.group(1) + " " + m.group(2));
        }
        Set<String> missing = new TreeSet<>(operations);
        missing.removeAll(documented);
        Set<String> extra = new TreeSet<>(documented);
        extra.removeAll(operations);
        assertThat(missing).as("operations of /q/openapi without a '### METHOD path' section in api.md").isEmpty();
        assertThat(extra).as("sections of api.md that are no operation of /q/openapi").isEmpty();
    }

    @Test
    void configurationTableIsGeneratedFromBrokerConfig() throws Exception {
        Path page = REPO.resolve("src/site/markdown/operations.md");
        String text = Files.readString(page);
        int begin = text.indexOf(CONFIG_BEGIN);
        int end = text.indexOf(CONFIG_END);
        assertThat(begin).as("operations.md has the configuration markers").isGreaterThanOrEqualTo(0);
        assertThat(end).isGreaterThan(begin);
        String table = BrokerConfigKeys.table(BrokerConfigKeys.all(REPO));
        String current = text.substring(begin + CONFIG_BEGIN.length(), end);
        if (Boolean.getBoolean("docs.regenerate") && !current.equals(table)) {
            Files.writeString(page, text.substring(0, begin + CONFIG_BEGIN.length()) + table + text.substring(end));
            current = table;
        }
        assertThat(current).as("operations.md's configuration table; regenerate with -Ddocs.regenerate=true")
                .isEqualTo(table);
        for (BrokerConfigKeys.Key k : BrokerConfigKeys.all(REPO)) {
            assertThat(k.doc()).as("javadoc of " + k.name() + " in BrokerConfig").isNotBlank();
        }
    }

    static Set<String> brokerKeys() throws Exception {
        return BrokerConfigKeys.all(REPO).stream().map(BrokerConfigKeys.Key::name).collect(Collectors.toSet());
    }

    private static JsonNode openapi() throws Exception {
        String json = management().queryParam("format", "json").get("/q/openapi")
                .then().statusCode(200).extract().asString();
        Files.createDirectories(REPO.resolve("target"));
        Files.writeString(REPO.resolve("target/openapi.json"), json);
        return new ObjectMapper().readTree(json);
    }

    /** The /q/ paths the pages name that answer something other than 404 on the management port. */
    private static Set<String> answeringManagementPaths(List<Path> pages) throws Exception {
        Set<String> named = new TreeSet<>();
        Pattern q = Pattern.compile("/q/[a-z/-]+");
        for (Path p : pages) {
            Matcher m = q.matcher(Files.readString(p));
            while (m.find()) {
                named.add(m.group().replaceAll("/$", ""));
            }
        }
        Set<String> answering = new TreeSet<>();
        for (String path : named) {
            if (management().get(path).statusCode() != 404) {
                answering.add(path);
            }
        }
        return answering;
    }
}
