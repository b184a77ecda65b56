package dev.netfence.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.netfence.cli.RunCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * No Docker engine runs here, so the compose file and the Dockerfile are checked as documents:
 * the services, images, privileges and environment netfence needs, and that every NETFENCE_*
 * variable is a real run configuration key.
 */
class DockerComposeTest {

    private static final Set<String> TOPICS = Set.of("sandbox.container-events", "sandbox.policy-outcomes",
            "sandbox.container-events.dlq", "sandbox.policies");

    private final JsonNode compose = read();
    private final JsonNode services = compose.path("services");
    private final JsonNode netfence = services.path("netfence");

    private static JsonNode read() {
        try {
            return new ObjectMapper(new YAMLFactory()).readTree(Path.of("docker-compose.yml").toFile());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void composeHasAKraftBrokerAOneShotTopicSetupAndNetfence() {
        assertThat(fieldNames(services)).containsExactlyInAnyOrder("kafka", "topics", "netfence");
        JsonNode kafka = services.path("kafka");
        assertThat(kafka.path("image").asText()).startsWith("apache/kafka:");
        assertThat(kafka.path("environment").path("KAFKA_PROCESS_ROLES").asText()).isEqualTo("broker,controller");
        assertThat(kafka.path("environment").path("KAFKA_ADVERTISED_LISTENERS").asText()).contains("PLAINTEXT://kafka:9092");
        assertThat(kafka.path("healthcheck").path("test").toString()).contains("kafka-broker-api-versions.sh");
    }

    @Test
    void topicSetupWaitsForAHealthyBrokerAndCreatesTheFourTopicsWithPoliciesCompacted() {
        JsonNode topics = services.path("topics");
        assertThat(topics.path("image").asText()).isEqualTo(services.path("kafka").path("image").asText());
        assertThat(topics.path("depends_on").path("kafka").path("condition").asText()).isEqualTo("service_healthy");
        assertThat(topics.path("restart").asText()).isEqualTo("no");
        String script = topics.path("command").get(0).asText();
        List<String> creates = script.lines().filter(l -> l.strip().startsWith("create --topic")).toList();
        assertThat(creates).extracting(l -> l.strip().split("\\s+")[2]).containsExactlyInAnyOrderElementsOf(TOPICS);
        assertThat(creates).filteredOn(l -> l.contains("sandbox.policies "))
                .singleElement().satisfies(l -> assertThat(l).contains("--config cleanup.policy=compact"));
        assertThat(script).contains("--if-not-exists").contains("--bootstrap-server kafka:9092");
    }

    @Test
    void netfenceIsBuiltFromTheDockerfileWithHostPidTheCapabilitiesAndNamespaceAccess() {
        assertThat(netfence.path("build").asText()).isEqualTo(".");
        assertThat(Files.exists(Path.of("Dockerfile"))).isTrue();
        assertThat(netfence.path("pid").asText()).isEqualTo("host");
        assertThat(netfence.path("cgroup").asText()).as("the host's cgroup namespace: every container's cgroup readable").isEqualTo("host");
        assertThat(texts(netfence.path("cap_add"))).as("PinPrivileges: netfence refuses to start without the three")
                .containsExactlyInAnyOrder("SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE");
        assertThat(netfence.path("privileged").asBoolean(false)).isFalse();
        JsonNode netns = netfence.path("volumes").get(0);
        assertThat(netns.path("source").asText()).isEqualTo("/run/netns");
        assertThat(netns.path("target").asText()).isEqualTo("/run/netns");
        assertThat(netns.path("bind").path("propagation").asText()).isEqualTo("rslave");
        assertThat(netfence.path("depends_on").path("topics").path("condition").asText())
                .isEqualTo("service_completed_successfully");
        // the host guard needs the host's network namespace; ports cannot be published there
        assertThat(netfence.path("network_mode").asText()).isEqualTo("host");
        assertThat(netfence.has("ports")).isFalse();
        JsonNode hook = netfence.path("volumes").get(1);
        assertThat(hook.path("source").asText()).as("the OCI hook's socket directory, the host's").isEqualTo("/run/netfence");
        assertThat(hook.path("target").asText()).isEqualTo("/run/netfence");
    }

    @Test
    void netfenceEnvironmentNamesOnlyRealConfigKeysAndPointsAtTheBroker() {
        JsonNode env = netfence.path("environment");
        Set<String> known = RunCommand.environmentVariables();
        List<String> netfenceVars = fieldNames(env).stream().filter(n -> n.startsWith("NETFENCE_")).toList();

        assertThat(netfenceVars).isNotEmpty().allSatisfy(name -> assertThat(known).contains(name));
        assertThat(fieldNames(env)).allSatisfy(name -> assertThat(name).startsWith("NETFENCE_"));
        // in the host's network namespace: the broker's listener for the host, as the ops CLI uses it
        assertThat(env.path("NETFENCE_BOOTSTRAP_SERVERS").asText()).isEqualTo("localhost:29092");
        assertThat(services.path("kafka").path("environment").path("KAFKA_ADVERTISED_LISTENERS").asText())
                .contains("HOST://localhost:29092");
        assertThat(env.path("NETFENCE_NODE_ID").asText()).isNotBlank();
        assertThat(env.path("NETFENCE_HTTP_PORT").asText()).isEqualTo(String.valueOf(MetricsServer.DEFAULT_PORT));
    }

    @Test
    void dockerfileBuildsWithMavenAndRunsOnAJreWithTheFirewallTools() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("Dockerfile")).stream()
                .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        List<String> froms = lines.stream().filter(l -> l.startsWith("FROM ")).toList();

        assertThat(froms).containsExactly("FROM maven:3-eclipse-temurin-17 AS build", "FROM eclipse-temurin:17-jre");
        assertThat(lines).contains("COPY schemas schemas", "COPY src src", "RUN mvn -B -q -DskipTests package",
                "COPY --from=build /src/target/netfence.jar /opt/netfence/netfence.jar", "EXPOSE 9464",
                "ENTRYPOINT [\"java\", \"-jar\", \"/opt/netfence/netfence.jar\", \"run\"]");
        String install = String.join(" ", lines);
        assertThat(install).contains("apt-get install -y --no-install-recommends libnftables1 nftables iptables iproute2 util-linux conntrack");
        assertThat(install).as("curl, which the compose healthcheck runs, installed (not the base image's: gone from JDK 22's)")
                .containsPattern("apt-get install [^&]*\\bcurl\\b");
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static List<String> texts(JsonNode array) {
        List<String> values = new ArrayList<>();
        array.forEach(v -> values.add(v.asText()));
        return values;
    }
}
