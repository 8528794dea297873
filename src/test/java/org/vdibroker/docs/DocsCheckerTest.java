package org.vdibroker.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The docs checker catches what it must: each kind of wrong reference makes it report a problem. */
class DocsCheckerTest {

    static final Path REPO = Path.of("").toAbsolutePath();
    static Set<String> brokerKeys;
    static Set<Pattern> quarkusKeys;
    static final Set<String> OPERATIONS = Set.of("/api/v1/me/pools", "/api/v1/me/pools/{poolId}/desktop",
            "/api/v1/me/sessions/{sessionId}/connection.vv");

    @BeforeAll
    static void keys() throws Exception {
        brokerKeys = DocsTest.brokerKeys();
        quarkusKeys = DocsChecker.quarkusKeys(REPO);
    }

    private static DocsChecker checker(Set<String> keys) {
        return new DocsChecker(REPO, keys, quarkusKeys, OPERATIONS, Set.of("/q/health/ready"));
    }

    @Test
    void realKeysEndpointsAndFilesPass() {
        assertThat(checker(brokerKeys).check("x.md", """
                Set `broker.tickets.lifetime` (or `broker.login.rate-limit.*`), `quarkus.oidc.client-id`,
                `quarkus.datasource."postgresql".jdbc.url`; call `POST /api/v1/me/pools/demo/desktop`,
                `/api/v1/me/sessions/$SESSION/connection.vv` and `/q/health/ready`; see `config/run-demo.sh`,
                `org.vdibroker.BrokerConfig` and [the API](src/site/markdown/api.md).
                """)).isEmpty();
    }

    @Test
    void bogusKeysAreReported() {
        assertThat(checker(brokerKeys).check("x.md", "set `broker.tickets.lifetimes` and `quarkus.oidc.client-idd`"))
                .containsExactly("x.md names the configuration key broker.tickets.lifetimes, which does not exist",
                        "x.md names the configuration key quarkus.oidc.client-idd, which does not exist");
    }

    @Test
    void aDocumentedKeyRemovedFromBrokerConfigIsReported() {
        Set<String> without = new HashSet<>(brokerKeys);
        assertThat(without.remove("broker.tickets.lifetime")).isTrue();
        assertThat(checker(without).check("x.md", "`broker.tickets.lifetime` is 60s")).hasSize(1);
    }

    @Test
    void bogusEndpointsFilesClassesAndLinksAreReported() {
        List<String> problems = checker(brokerKeys).check("README.md", """
                `GET /api/v1/me/poolz`, `POST /api/v1/me/pools/demo/desktops`, `/q/nothing`,
                `config/no-such-script.sh`, `org.vdibroker.NoSuchClass`, [gone](src/site/markdown/gone.md)
                """);
        assertThat(problems).hasSize(6);
    }

    @Test
    void linksToHeadingsMustNameAHeadingOfThePage() {
        assertThat(DocsChecker.anchors("""
                # Tests
                ## The heap's size from the start (2026-12-07 16:29-17:04 UTC)
                ### `bench.jfr`: profiling a run ###
                ## Results
                ```
                # not a heading
                ```
                ## Results
                """)).containsExactlyInAnyOrder("tests", "the-heaps-size-from-the-start-2026-12-07-1629-1704-utc",
                "benchjfr-profiling-a-run", "results", "results-1");
        assertThat(checker(brokerKeys).check("src/site/markdown/x.md", """
                ## Here
                [ok](#here), [ok](benchmarks.md#results), [ok](../../../README.md#performance),
                [bad](#there), [bad](benchmarks.md#no-such-heading), [external](https://example.com/a#b)
                """)).containsExactly(
                "src/site/markdown/x.md links to the heading #there of itself, which has no such heading",
                "src/site/markdown/x.md links to the heading #no-such-heading of benchmarks.md, which has no such"
                        + " heading");
    }

    @Test
    void pointersOutsideTheRepositoryAreReported(@TempDir Path dir) throws Exception {
        String outside = ".." + "/shared/design/API.md";
        assertThat(checker(brokerKeys).check("x.md", "as in `" + outside + "`")).hasSize(1);
        assertThat(checker(brokerKeys).check("x.md", "[link](../../../../elsewhere.md)")).hasSize(1);

        Files.createDirectories(dir.resolve("src/main/java"));
        Files.writeString(dir.resolve("src/main/java/A.java"), "// see /" + "work/shared/design\n");
        Files.writeString(dir.resolve("ok.md"), "nothing\n");
        DocsChecker onTemp = new DocsChecker(dir, brokerKeys, quarkusKeys, OPERATIONS, Set.of());
        assertThat(onTemp.pointersOutside()).containsExactly(
                "src/main/java/A.java points outside the repository (/" + "work/)");
    }

    @Test
    void configurationTableComesFromBrokerConfigJavadoc() throws Exception {
        List<BrokerConfigKeys.Key> keys = BrokerConfigKeys.all(REPO);
        BrokerConfigKeys.Key lifetime = keys.stream().filter(k -> k.name().equals("broker.tickets.lifetime"))
                .findFirst().orElseThrow();
        assertThat(lifetime.defaultValue()).isEqualTo("60s");
        assertThat(lifetime.doc()).isEqualTo("How long a connection ticket may be used after it is issued.");
        assertThat(BrokerConfigKeys.table(keys)).contains(
                "| `broker.tickets.lifetime` | `60s` | How long a connection ticket may be used after it is issued. |");
    }
}
