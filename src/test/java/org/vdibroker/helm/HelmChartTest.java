package org.vdibroker.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/**
 * The Helm chart helm/vdi-broker, linted and rendered by the real Helm (embedded through helm-java), with the rendered
 * objects checked for what an operator relies on: node count, probes, cluster discovery, secret references, a
 * non-root read-only container.
 */
class HelmChartTest {

    private static final Path CHART = Path.of("helm", "vdi-broker");
    private static final Path PRODUCTION_VALUES = CHART.resolve("ci").resolve("production-values.yaml");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @Test
    void chartPassesStrictLint() {
        LintResult result = new Helm(CHART).lint().strict().call();

        assertThat(result.isFailed()).as("helm lint --strict: %s", result.getMessages()).isFalse();
    }

    @Test
    void defaultValuesRenderAThreeNodeClusterFoundThroughTheHeadlessService() throws IOException {
        Rendered rendered = render(t -> t);

        JsonNode statefulSet = rendered.one("StatefulSet");
        assertThat(statefulSet.at("/spec/replicas").asInt()).isEqualTo(3);
        JsonNode headless = rendered.named("Service", "vdi-broker-cluster");
        assertThat(headless.at("/spec/clusterIP").asText()).isEqualTo("None");
        assertThat(headless.at("/spec/publishNotReadyAddresses").asBoolean()).isTrue();
        assertThat(headless.at("/spec/selector")).isEqualTo(statefulSet.at("/spec/selector/matchLabels"));
        assertThat(statefulSet.at("/spec/serviceName").asText()).isEqualTo("vdi-broker-cluster");

        Map<String, String> config = rendered.configMapData("vdi-broker");
        assertThat(config).containsEntry("BROKER_CLUSTER_CONFIG", "infinispan-cluster.xml")
                .containsEntry("VDI_CLUSTER_STACK", "dns-ping")
                .containsEntry("VDI_CLUSTER_MARSHALLING", "protostream")
                .containsEntry("VDI_CLUSTER_DNS_QUERY", "vdi-broker-cluster.vdi.svc.cluster.local")
                .containsEntry("QUARKUS_PROFILE", "prod,postgresql");
        assertThat(rendered.kinds()).doesNotContain("Ingress", "ServiceMonitor", "HorizontalPodAutoscaler");
        assertThat(rendered.one("PodDisruptionBudget").at("/spec/maxUnavailable").asInt()).isEqualTo(1);
    }

    @Test
    void probesUseTheQuarkusHealthEndpointsOnTheManagementPortThatNoServiceRoutesTo() throws IOException {
        Rendered rendered = render(t -> t);
        JsonNode broker = container(rendered.one("StatefulSet"));

        assertThat(broker.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/q/health/live");
        assertThat(broker.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/q/health/ready");
        assertThat(broker.at("/startupProbe/httpGet/path").asText()).isEqualTo("/q/health/started");
        for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
            assertThat(broker.at("/" + probe + "/httpGet/port").asText()).as(probe).isEqualTo("management");
        }
        JsonNode management = stream(broker.at("/ports")).filter(p -> p.at("/name").asText().equals("management"))
                .findFirst().orElseThrow(() -> new AssertionError("no container port 'management'"));
        assertThat(management.at("/containerPort").asInt()).isEqualTo(9000);
        assertThat(rendered.configMapData("vdi-broker")).containsEntry("QUARKUS_MANAGEMENT_PORT", "9000")
                .containsEntry("QUARKUS_MANAGEMENT_HOST", "0.0.0.0");
        // the public Service (what the Ingress and load balancers use) never routes to the management port
        Rendered production = render(t -> t.withValuesFile(PRODUCTION_VALUES));
        for (Rendered r : List.of(rendered, production)) {
            JsonNode service = r.named("Service", "vdi-broker");
            assertThat(stream(service.at("/spec/ports")).map(p -> p.at("/targetPort").asText()).toList())
                    .containsExactly("http");
            assertThat(stream(service.at("/spec/ports")).map(p -> p.at("/port").asInt()).toList())
                    .doesNotContain(9000);
        }
        assertThat(stream(production.one("Ingress").at("/spec/rules")).flatMap(rule -> stream(rule.at("/http/paths")))
                .map(path -> path.at("/backend/service/name").asText()).distinct().toList())
                .containsExactly("vdi-broker");
        assertThat(render(t -> t.set("management.port", "9100")).configMapData("vdi-broker"))
                .containsEntry("QUARKUS_MANAGEMENT_PORT", "9100");
    }

    @Test
    void containerRunsAsNonRootOnAReadOnlyRootFileSystemWithWritableTmpAndData() throws IOException {
        JsonNode statefulSet = render(t -> t).one("StatefulSet");
        JsonNode pod = statefulSet.at("/spec/template/spec");
        JsonNode broker = container(statefulSet);

        assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).isTrue();
        assertThat(pod.at("/securityContext/runAsUser").asInt()).isPositive();
        assertThat(broker.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(broker.at("/securityContext/allowPrivilegeEscalation").asBoolean()).isFalse();
        assertThat(texts(broker.at("/securityContext/capabilities/drop"))).containsExactly("ALL");
        Map<String, String> mounts = stream(broker.at("/volumeMounts"))
                .collect(Collectors.toMap(m -> m.at("/mountPath").asText(), m -> m.at("/name").asText()));
        assertThat(mounts).containsOnlyKeys("/tmp", "/data");
        for (String volume : mounts.values()) {
            assertThat(stream(pod.at("/volumes")).filter(v -> v.at("/name").asText().equals(volume)).findFirst())
                    .hasValueSatisfying(v -> assertThat(v.has("emptyDir")).isTrue());
        }
        assertThat(broker.at("/resources/requests/memory").asText()).isNotEmpty();
        assertThat(broker.at("/resources/limits/memory").asText()).isNotEmpty();
    }

    @Test
    void secretsComeFromExistingSecretsAndNeverFromTheConfigMap() throws IOException {
        Rendered rendered = render(t -> t);
        JsonNode broker = container(rendered.one("StatefulSet"));

        assertThat(secretRef(broker, "BROKER_DB_PASSWORD")).isEqualTo("vdi-broker-db/password");
        assertThat(secretRef(broker, "BROKER_SECRETS_KEY")).isEqualTo("vdi-broker-secrets/secrets-key");
        assertThat(secretRef(broker, "BROKER_CLUSTER_KEY")).isEqualTo("vdi-broker-secrets/cluster-key");
        assertThat(env(broker, "QUARKUS_OIDC_CREDENTIALS_SECRET")).isEmpty(); // bearer-only unless configured
        assertThat(rendered.kinds()).doesNotContain("Secret");
        assertThat(rendered.configMapData("vdi-broker").keySet())
                .noneMatch(key -> key.contains("PASSWORD") || key.contains("SECRET"));
        assertThat(env(broker, "VDI_CLUSTER_BIND_ADDRESS").map(e -> e.at("/valueFrom/fieldRef/fieldPath").asText()))
                .contains("status.podIP");
    }

    @Test
    void onlyTheBrokersOwnPodsReachTheClusterPorts() throws IOException {
        Rendered rendered = render(t -> t);
        JsonNode policy = rendered.one("NetworkPolicy");
        JsonNode podLabels = rendered.one("StatefulSet").at("/spec/template/metadata/labels");

        assertThat(selects(policy.at("/spec/podSelector/matchLabels"), podLabels)).isTrue();
        JsonNode cluster = stream(policy.at("/spec/ingress"))
                .filter(rule -> stream(rule.at("/ports")).anyMatch(p -> p.at("/port").asInt() == 7800))
                .findFirst().orElseThrow(() -> new AssertionError("no ingress rule for 7800"));
        assertThat(stream(cluster.at("/ports")).map(p -> p.at("/port").asInt()).toList())
                .containsExactlyInAnyOrder(7800, 7900);
        assertThat(cluster.at("/from")).hasSize(1);
        assertThat(selects(cluster.at("/from/0/podSelector/matchLabels"), podLabels)).isTrue();
        JsonNode http = stream(policy.at("/spec/ingress"))
                .filter(rule -> stream(rule.at("/ports")).anyMatch(p -> p.at("/port").asText().equals("http")))
                .findFirst().orElseThrow(() -> new AssertionError("no ingress rule for http"));
        assertThat(http.at("/from").isMissingNode()).as("HTTP from any source by default").isTrue();
        assertThat(stream(policy.at("/spec/ingress")).flatMap(rule -> stream(rule.at("/ports")))
                .map(p -> p.at("/port").asText()).toList())
                .as("no pod reaches the management port by default (the kubelet's probes come from the node)")
                .doesNotContain("management", "9000");
        JsonNode monitoring = stream(render(t -> t.set(
                "cluster.networkPolicy.managementFrom[0].namespaceSelector.matchLabels.name", "monitoring"))
                .one("NetworkPolicy").at("/spec/ingress"))
                .filter(rule -> stream(rule.at("/ports")).anyMatch(p -> p.at("/port").asText().equals("management")))
                .findFirst().orElseThrow(() -> new AssertionError("no ingress rule for the management port"));
        assertThat(monitoring.at("/from")).hasSize(1);
        assertThat(monitoring.at("/from/0/namespaceSelector/matchLabels/name").asText()).isEqualTo("monitoring");
        assertThat(stream(monitoring.at("/ports")).map(p -> p.at("/port").asText()).toList())
                .containsExactly("management");

        Rendered narrowed = render(t -> t.set("cluster.networkPolicy.httpFrom[0].namespaceSelector.matchLabels.name",
                "ingress"));
        assertThat(narrowed.one("NetworkPolicy").toString()).contains("\"namespaceSelector\"");
        assertThat(render(t -> t.set("cluster.networkPolicy.enabled", "false")).kinds())
                .doesNotContain("NetworkPolicy");
    }

    @Test
    void rdpSigningKeystoreComesFromASecretMountedReadOnly() throws IOException {
        JsonNode unsigned = container(render(t -> t).one("StatefulSet"));
        assertThat(env(unsigned, "BROKER_RDP_SIGNING_KEYSTORE")).isEmpty();

        Rendered rendered = render(t -> t.set("rdpSigning.existingSecret", "vdi-rdp-signing")
                .set("rdpSigning.alias", "publisher"));
        JsonNode statefulSet = rendered.one("StatefulSet");
        JsonNode broker = container(statefulSet);
        assertThat(env(broker, "BROKER_RDP_SIGNING_KEYSTORE").orElseThrow().at("/value").asText())
                .isEqualTo("/etc/vdi-broker/rdp-signing/rdp-signing.p12");
        assertThat(secretRef(broker, "BROKER_RDP_SIGNING_KEYSTORE_PASSWORD")).isEqualTo("vdi-rdp-signing/password");
        assertThat(env(broker, "BROKER_RDP_SIGNING_ALIAS").orElseThrow().at("/value").asText()).isEqualTo("publisher");
        JsonNode mount = stream(broker.at("/volumeMounts")).filter(m -> m.at("/name").asText().equals("rdp-signing"))
                .findFirst().orElseThrow();
        assertThat(mount.at("/mountPath").asText()).isEqualTo("/etc/vdi-broker/rdp-signing");
        assertThat(mount.at("/readOnly").asBoolean()).isTrue();
        JsonNode volume = stream(statefulSet.at("/spec/template/spec/volumes"))
                .filter(v -> v.at("/name").asText().equals("rdp-signing")).findFirst().orElseThrow();
        assertThat(volume.at("/secret/secretName").asText()).isEqualTo("vdi-rdp-signing");
        assertThat(rendered.configMapData("vdi-broker").keySet()).noneMatch(k -> k.contains("RDP_SIGNING"));
    }

    @Test
    void productionValuesRenderIngressServiceMonitorAndExternalDatabase() throws IOException {
        Rendered rendered = render(t -> t.withValuesFile(PRODUCTION_VALUES));

        JsonNode statefulSet = rendered.one("StatefulSet");
        assertThat(statefulSet.at("/spec/replicas").asInt()).isEqualTo(3);
        JsonNode broker = container(statefulSet);
        assertThat(broker.at("/image").asText()).isEqualTo("registry.example.com/vdi/vdi-broker:0.1.0");
        assertThat(secretRef(broker, "BROKER_DB_PASSWORD")).isEqualTo("vdi-broker-db/password");
        assertThat(secretRef(broker, "QUARKUS_OIDC_CREDENTIALS_SECRET")).isEqualTo("vdi-broker-keycloak/client-secret");
        assertThat(rendered.configMapData("vdi-broker"))
                .containsEntry("BROKER_DB_URL",
                        "jdbc:postgresql://pg.db.svc.cluster.local:5432/vdibroker?sslmode=require")
                .containsEntry("QUARKUS_OIDC_AUTH_SERVER_URL", "https://sso.example.com/realms/vdi")
                .containsEntry("BROKER_TICKETS_LIFETIME", "30s");

        JsonNode ingress = rendered.one("Ingress");
        assertThat(ingress.at("/spec/rules/0/host").asText()).isEqualTo("vdi.example.com");
        assertThat(ingress.at("/spec/rules/0/http/paths/0/backend/service/name").asText()).isEqualTo("vdi-broker");
        assertThat(ingress.at("/spec/tls/0/secretName").asText()).isEqualTo("vdi-broker-tls");

        JsonNode monitor = rendered.one("ServiceMonitor");
        assertThat(monitor.at("/spec/endpoints/0/path").asText()).isEqualTo("/q/metrics");
        assertThat(monitor.at("/spec/endpoints/0/port").asText()).isEqualTo("management");
        assertThat(monitor.at("/metadata/labels/release").asText()).isEqualTo("kube-prometheus-stack");
        assertThat(rendered.objects().stream().filter(o -> o.at("/kind").asText().equals("Service"))
                .filter(service -> selects(monitor.at("/spec/selector/matchLabels"), service.at("/metadata/labels")))
                .map(service -> service.at("/metadata/name").asText())).containsExactly("vdi-broker-management");
        JsonNode scraped = rendered.named("Service", "vdi-broker-management");
        assertThat(scraped.at("/spec/clusterIP").asText()).as("headless: every pod is scraped").isEqualTo("None");
        assertThat(scraped.at("/spec/ports/0/name").asText()).isEqualTo("management");
        assertThat(scraped.at("/spec/ports/0/targetPort").asText()).isEqualTo("management");
        assertThat(selects(scraped.at("/spec/selector"), statefulSet.at("/spec/template/metadata/labels"))).isTrue();
        assertThat(rendered.one("NetworkPolicy").toString()).as("Prometheus' namespace reaches the management port")
                .contains("\"kubernetes.io/metadata.name\":\"monitoring\"");
    }

    @Test
    void autoscalingLeavesTheReplicaCountToTheAutoscalerAndScalesDownOnePodAtATime() throws IOException {
        Rendered rendered = render(t -> t.set("autoscaling.enabled", "true"));

        assertThat(rendered.one("StatefulSet").at("/spec").has("replicas")).isFalse();
        JsonNode hpa = rendered.one("HorizontalPodAutoscaler");
        assertThat(hpa.at("/spec/scaleTargetRef/kind").asText()).isEqualTo("StatefulSet");
        assertThat(hpa.at("/spec/minReplicas").asInt()).isEqualTo(3);
        assertThat(hpa.at("/spec/behavior/scaleDown/policies/0/value").asInt()).isEqualTo(1);
    }

    @Test
    void schemaRejectsValuesThatWouldBreakTheClusterOrLeakSecrets() {
        assertThatThrownBy(() -> render(t -> t.set("database.existingSecret", "")))
                .hasMessageContaining("existingSecret");
        assertThatThrownBy(() -> render(t -> t.set("podSecurityContext.runAsNonRoot", "false")))
                .hasMessageContaining("runAsNonRoot");
        assertThatThrownBy(() -> render(t -> t.set("podDisruptionBudget.maxUnavailable", "2")))
                .hasMessageContaining("maxUnavailable");
        assertThatThrownBy(() -> render(t -> t.set("database.password", "secret"))).hasMessageContaining("password");
        assertThatThrownBy(() -> render(t -> t.set("cluster.marshalling", "kryo"))).hasMessageContaining("marshalling");
    }

    @Test
    void theFirstRollOfAnUpgradeFromJavaSerializationWritesJava() throws IOException {
        assertThat(render(t -> t.set("cluster.marshalling", "java")).configMapData("vdi-broker"))
                .containsEntry("VDI_CLUSTER_MARSHALLING", "java");
    }

    // ---- helpers ----

    private static Rendered render(UnaryOperator<TemplateCommand> values) throws IOException {
        String yaml = values.apply(new Helm(CHART).template().withName("vdi-broker").withNamespace("vdi")).call();
        List<JsonNode> objects = new ArrayList<>();
        for (JsonNode doc : YAML.readValues(YAML.getFactory().createParser(yaml), JsonNode.class).readAll()) {
            if (doc != null && doc.has("kind")) {
                objects.add(doc);
            }
        }
        return new Rendered(objects);
    }

    private record Rendered(List<JsonNode> objects) {
        List<String> kinds() {
            return objects.stream().map(o -> o.at("/kind").asText()).toList();
        }

        JsonNode one(String kind) {
            List<JsonNode> found = objects.stream().filter(o -> o.at("/kind").asText().equals(kind)).toList();
            assertThat(found).as("rendered objects of kind %s", kind).hasSize(1);
            return found.get(0);
        }

        JsonNode named(String kind, String name) {
            return objects.stream()
                    .filter(o -> o.at("/kind").asText().equals(kind) && o.at("/metadata/name").asText().equals(name))
                    .findFirst().orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in " + kinds()));
        }

        Map<String, String> configMapData(String name) {
            JsonNode data = named("ConfigMap", name).at("/data");
            List<String> keys = new ArrayList<>();
            data.fieldNames().forEachRemaining(keys::add);
            return keys.stream().collect(Collectors.toMap(k -> k, k -> data.get(k).asText()));
        }
    }

    private static boolean selects(JsonNode matchLabels, JsonNode labels) {
        List<String> keys = new ArrayList<>();
        matchLabels.fieldNames().forEachRemaining(keys::add);
        return keys.stream().allMatch(k -> matchLabels.get(k).asText().equals(labels.path(k).asText(null)));
    }

    private static JsonNode container(JsonNode statefulSet) {
        JsonNode containers = statefulSet.at("/spec/template/spec/containers");
        assertThat(containers.size()).isEqualTo(1);
        return containers.get(0);
    }

    private static Optional<JsonNode> env(JsonNode container, String name) {
        return stream(container.at("/env")).filter(e -> e.at("/name").asText().equals(name)).findFirst();
    }

    /** "secret/key" of an environment variable taken from a Secret. */
    private static String secretRef(JsonNode container, String name) {
        JsonNode ref = env(container, name).orElseThrow(() -> new AssertionError("no env " + name))
                .at("/valueFrom/secretKeyRef");
        return ref.at("/name").asText() + "/" + ref.at("/key").asText();
    }

    private static java.util.stream.Stream<JsonNode> stream(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false);
    }

    private static List<String> texts(JsonNode array) {
        return stream(array).map(JsonNode::asText).toList();
    }
}
