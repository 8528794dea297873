package org.vdibroker.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.vdibroker.testsupport.Management.management;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * src/main/docker/Dockerfile.jvm and the Helm chart agree: the user the pod runs as is the image's, the ports the
 * pod declares are the ones the image exposes and the broker listens on, the paths the chart mounts writable are the
 * image's volumes and data directory, the chart's JVM options reach the JVM through the image's launcher, and the
 * probes' paths answer on the broker.
 */
@QuarkusTest
class ContainerImageTest {

    private static final Path DOCKERFILE = Path.of("src/main/docker/Dockerfile.jvm");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static String dockerfile;
    private static JsonNode statefulSet;
    private static JsonNode container;
    private static JsonNode configMap;

    @BeforeAll
    static void render() throws Exception {
        dockerfile = Files.readString(DOCKERFILE).replaceAll("\\\\\\n", " ");
        String yaml = new Helm(Path.of("helm", "vdi-broker")).template().withName("vdi-broker").withNamespace("vdi")
                .call();
        for (JsonNode doc : YAML.readValues(YAML.getFactory().createParser(yaml), JsonNode.class).readAll()) {
            if (doc == null) {
                continue;
            }
            switch (doc.path("kind").asText()) {
                case "StatefulSet" -> statefulSet = doc;
                case "ConfigMap" -> configMap = doc.path("data");
                default -> { }
            }
        }
        container = statefulSet.at("/spec/template/spec/containers/0");
    }

    @Test
    void podRunsAsTheImagesNonRootUser() {
        List<String> users = instructions("USER");
        assertThat(users).isNotEmpty();
        String imageUser = users.get(users.size() - 1);
        assertThat(imageUser).isEqualTo("185");
        JsonNode pod = statefulSet.at("/spec/template/spec/securityContext");
        assertThat(pod.path("runAsUser").asText()).isEqualTo(imageUser);
        assertThat(pod.path("runAsNonRoot").asBoolean()).isTrue();
        // the image makes the group the pod runs as
        assertThat(dockerfile).contains("--gid " + pod.path("runAsGroup").asText());
    }

    @Test
    void portsTheChartDeclaresAreTheOnesTheImageExposes() {
        List<Integer> exposed = instructions("EXPOSE").stream().flatMap(l -> Arrays.stream(l.split("\\s+")))
                .map(Integer::valueOf).toList();
        List<Integer> declared = new ArrayList<>();
        container.path("ports").forEach(p -> declared.add(p.path("containerPort").asInt()));
        assertThat(exposed).containsExactlyInAnyOrderElementsOf(declared);
        int http = portNamed("http");
        assertThat(configMap.path("QUARKUS_HTTP_PORT").asText()).isEqualTo(String.valueOf(http));
        assertThat(env("QUARKUS_HTTP_HOST")).isEqualTo("0.0.0.0");
        assertThat(configMap.path("QUARKUS_HTTP_HOST").asText()).isEqualTo("0.0.0.0");
        int management = portNamed("management");
        assertThat(configMap.path("QUARKUS_MANAGEMENT_PORT").asText()).isEqualTo(String.valueOf(management));
        assertThat(env("QUARKUS_MANAGEMENT_HOST")).isEqualTo("0.0.0.0");
        assertThat(configMap.path("QUARKUS_MANAGEMENT_HOST").asText()).isEqualTo("0.0.0.0");
    }

    @Test
    void writablePathsAreTheImagesVolumesAndDataDirectory() {
        List<String> mounts = new ArrayList<>();
        container.path("volumeMounts").forEach(m -> mounts.add(m.path("mountPath").asText()));
        assertThat(statefulSet.at("/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem")
                .asBoolean()).isTrue();
        String volumes = String.join(" ", instructions("VOLUME"));
        for (String mount : mounts) {
            assertThat(volumes).as("VOLUME of the image").contains("\"" + mount + "\"");
        }
        assertThat(mounts).contains("/tmp", env("BROKER_DATA_DIR"));
        assertThat(configMap.path("BROKER_DATA_DIR").asText()).isEqualTo(env("BROKER_DATA_DIR"));
        // writable by the image's user in the image itself too (a docker/podman run without the chart's volumes)
        assertThat(dockerfile).containsPattern("chown 185:185 [^&]*" + Pattern.quote(env("BROKER_DATA_DIR")));
        assertThat(dockerfile).contains("chmod 1777 /tmp");
    }

    @Test
    void chartsJavaOptionsReachTheJvmThroughTheLauncher(@TempDir Path dir) throws Exception {
        // run the image's ENTRYPOINT with the image's environment plus the chart's, and a `java` that prints its args
        Path fakeJava = dir.resolve("java");
        Files.writeString(fakeJava, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n");
        Files.setPosixFilePermissions(fakeJava, PosixFilePermissions.fromString("rwxr-xr-x"));
        Matcher entry = Pattern.compile("ENTRYPOINT \\[\"/bin/sh\", \"-c\", \"(.*)\"]").matcher(dockerfile);
        assertThat(entry.find()).as("ENTRYPOINT [\"/bin/sh\", \"-c\", ...]").isTrue();
        String command = entry.group(1).replace("\\\"", "\"");
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", command);
        pb.environment().clear();
        pb.environment().put("PATH", dir + ":/usr/bin:/bin");
        pb.environment().putAll(envs());
        pb.environment().put("JAVA_OPTS_APPEND", configMap.path("JAVA_OPTS_APPEND").asText());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        List<String> args = new String(p.getInputStream().readAllBytes()).lines().toList();
        assertThat(configMap.path("JAVA_OPTS_APPEND").asText())
                .isEqualTo("-XX:InitialRAMPercentage=75.0 -XX:MaxRAMPercentage=75.0");
        assertThat(args).contains("-XX:InitialRAMPercentage=75.0", "-XX:MaxRAMPercentage=75.0",
                "-Djava.util.logging.manager=org.jboss.logmanager.LogManager");
        assertThat(args.subList(args.size() - 2, args.size())).containsExactly("-jar", "/deployments/quarkus-run.jar");
        assertThat(dockerfile).contains("COPY --chown=185:185 target/quarkus-app/*.jar /deployments/");
    }

    @Test
    void probesOfTheChartAnswerOnTheBroker() {
        for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
            JsonNode get = container.path(probe).path("httpGet");
            assertThat(get.path("port").asText()).as(probe + " port").isEqualTo("management");
            management().get(get.path("path").asText()).then().statusCode(200);
        }
    }

    private int portNamed(String name) {
        for (JsonNode p : container.path("ports")) {
            if (p.path("name").asText().equals(name)) {
                return p.path("containerPort").asInt();
            }
        }
        throw new AssertionError("no port " + name);
    }

    private static List<String> instructions(String keyword) {
        List<String> found = new ArrayList<>();
        for (String line : dockerfile.lines().toList()) {
            if (line.startsWith(keyword + " ")) {
                found.add(line.substring(keyword.length() + 1).trim());
            }
        }
        return found;
    }

    /** The image's ENV, NAME=value pairs (values in double quotes may hold spaces). */
    private static Map<String, String> envs() {
        Map<String, String> env = new HashMap<>();
        Matcher m = Pattern.compile("(\\w+)=(\"[^\"]*\"|\\S*)").matcher(String.join(" ", instructions("ENV")));
        while (m.find()) {
            String v = m.group(2);
            env.put(m.group(1), v.startsWith("\"") ? v.substring(1, v.length() - 1) : v);
        }
        return env;
    }

    private static String env(String name) {
        String v = envs().get(name);
        assertThat(v).as("ENV " + name + " of the image").isNotNull();
        return v;
    }
}
