package dev.netfence.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.netfence.enforce.OnFailure;
import dev.netfence.kafka.Assignment;
import dev.netfence.netns.BackendChoice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RunConfigLoaderTest {
    @TempDir
    Path dir;

    private static RunConfig load(Map<String, String> env, Map<String, String> flags) {
        return new RunConfigLoader(env, () -> "host-1").load(flags);
    }

    private Path file(String text) throws IOException {
        Path f = dir.resolve("netfence.properties");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void withNothingSetEveryOptionHasItsDesignDefault() {
        RunConfig c = load(Map.of(), Map.of());
        assertThat(c).isEqualTo(new RunConfig("127.0.0.1:9092", "host-1", Assignment.GROUP, "sandbox.container-events",
                "sandbox.policy-outcomes", "sandbox.policies", null, false, 8, 1000, Duration.ofSeconds(30),
                OnFailure.QUARANTINE, false, BackendChoice.AUTO, 9464, Duration.ofSeconds(30), null,
                RunConfig.LogFormat.TEXT, true, Duration.ofSeconds(5), Map.of()));
    }

    @Test
    void kafkaBootstrapServersIsTheDefaultBootstrap() {
        assertThat(load(Map.of("KAFKA_BOOTSTRAP_SERVERS", "k:9093"), Map.of()).bootstrapServers()).isEqualTo("k:9093");
    }

    @Test
    void aFlagBeatsTheEnvironmentWhichBeatsTheFileWhichBeatsTheDefault() throws IOException {
        Path f = file("node-id=from-file\nconcurrency=3\nmax-in-flight=77\nbootstrap-servers=file:1\n");
        Map<String, String> env = Map.of("NETFENCE_CONFIG", f.toString(), "NETFENCE_NODE_ID", "from-env",
                "NETFENCE_CONCURRENCY", "5", "KAFKA_BOOTSTRAP_SERVERS", "kbs:1");
        RunConfig c = load(env, Map.of("node-id", "from-flag"));
        assertThat(c.nodeId()).isEqualTo("from-flag");
        assertThat(c.concurrency()).isEqualTo(5);
        assertThat(c.maxInFlight()).isEqualTo(77);
        assertThat(c.bootstrapServers()).isEqualTo("file:1");
        assertThat(c.configFile()).isEqualTo(f);
    }

    @Test
    void kafkaPrefixedFileKeysPassThroughWithoutThePrefix() throws IOException {
        Path f = file("kafka.security.protocol=SSL\nkafka.ssl.truststore.location=/etc/ts.jks\n");
        assertThat(load(Map.of(), Map.of("config", f.toString())).kafka())
                .isEqualTo(Map.of("security.protocol", "SSL", "ssl.truststore.location", "/etc/ts.jks"));
    }

    @Test
    void everyOptionCanBeSetFromTheFile() throws IOException {
        Path f = file(String.join("\n", "bootstrap-servers=a:1,b:2", "node-id=*", "assignment=node-partition",
                "events-topic=ev", "outcomes-topic=out", "policies-topic=pol", "policy-dir=" + dir,
                "exactly-once=true", "concurrency=16", "max-in-flight=50", "event-deadline=PT1M",
                "on-failure=leave", "dry-run=TRUE", "iptables-backend=legacy", "http-port=0",
                "shutdown-timeout=500ms", "log-format=json", "cgroup-check=false", "policy-wait=2s"));
        RunConfig c = load(Map.of(), Map.of("config", f.toString()));
        assertThat(c).isEqualTo(new RunConfig("a:1,b:2", "*", Assignment.NODE_PARTITION, "ev", "out", "pol", dir, true,
                16, 50, Duration.ofMinutes(1), OnFailure.LEAVE, true, BackendChoice.LEGACY, 0, Duration.ofMillis(500),
                f, RunConfig.LogFormat.JSON, false, Duration.ofSeconds(2), Map.of()));
    }

    @Test
    void unknownNetfenceEnvironmentVariablesAreIgnored() {
        assertThat(load(Map.of("NETFENCE_REQUIRE_KERNEL_TESTS", "1"), Map.of()).nodeId()).isEqualTo("host-1");
    }

    @Test
    void anUnknownFileKeyIsRefusedByName() throws IOException {
        Path f = file("node-id=n1\nconcurency=4\n");
        assertThatThrownBy(() -> load(Map.of(), Map.of("config", f.toString())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown key in config file " + f + ": concurency");
    }

    @Test
    void aMissingConfigFileIsRefused() {
        assertThatThrownBy(() -> load(Map.of(), Map.of("config", dir.resolve("nope").toString())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("cannot read config file " + dir.resolve("nope"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "concurrency|0|invalid value for --concurrency: must be an integer from 1 to 1024, was: 0",
        "concurrency|lots|invalid value for --concurrency: must be an integer from 1 to 1024, was: lots",
        "max-in-flight|-1|invalid value for --max-in-flight: must be an integer from 1 to 100000, was: -1",
        "http-port|70000|invalid value for --http-port: must be an integer from 0 to 65535, was: 70000",
        "event-deadline|soon|invalid value for --event-deadline: must be a duration like 500ms, 30s, 2m, 1h or PT30S, was: soon",
        "shutdown-timeout|0s|invalid value for --shutdown-timeout: must be a positive duration, was: 0s",
        "assignment|random|invalid value for --assignment: must be group or node-partition, was: random",
        "on-failure|ignore|invalid value for --on-failure: must be quarantine or leave, was: ignore",
        "iptables-backend|ebpf|invalid value for --iptables-backend: must be auto, nft or legacy, was: ebpf",
        "log-format|xml|invalid value for --log-format: must be text or json, was: xml",
        "exactly-once|yes|invalid value for --exactly-once: must be true or false, was: yes",
        "node-id|bad node|invalid value for --node-id: must be * or match [A-Za-z0-9._-]{1,253}, was: bad node",
        "events-topic|a/b|invalid value for --events-topic: must be a Kafka topic name, was: a/b",
        "bootstrap-servers|localhost|invalid value for --bootstrap-servers: must be host:port[,host:port...], was: localhost",
    })
    void aBadFlagValueIsRefusedWithAMessageNamingTheFlag(String key, String value, String message) {
        assertThatThrownBy(() -> load(Map.of(), Map.of(key, value)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void aBadEnvironmentValueNamesTheVariable() {
        assertThatThrownBy(() -> load(Map.of("NETFENCE_CONCURRENCY", "x"), Map.of()))
                .hasMessage("invalid value for NETFENCE_CONCURRENCY: must be an integer from 1 to 1024, was: x");
    }

    @Test
    void aBadFileValueNamesTheKeyAndTheFile() throws IOException {
        Path f = file("max-in-flight=many\n");
        assertThatThrownBy(() -> load(Map.of(), Map.of("config", f.toString())))
                .hasMessage("invalid value for max-in-flight in " + f
                        + ": must be an integer from 1 to 100000, was: many");
    }

    @Test
    void aPolicyDirThatIsNotADirectoryIsRefused() {
        String missing = dir.resolve("missing").toString();
        assertThatThrownBy(() -> load(Map.of(), Map.of("policy-dir", missing)))
                .hasMessage("invalid value for --policy-dir: is not a directory: " + missing);
    }

    @Test
    void aHostNameThatIsNotANodeIdIsReportedAsTheNodeIdDefault() {
        assertThatThrownBy(() -> new RunConfigLoader(Map.of(), () -> "bad host").load(Map.of()))
                .hasMessage("invalid value for --node-id (default: the host name): must be * or match "
                        + "[A-Za-z0-9._-]{1,253}, was: bad host");
    }

    @Test
    void envNamesFollowTheFlagNames() {
        assertThat(RunConfigLoader.envName("max-in-flight")).isEqualTo("NETFENCE_MAX_IN_FLIGHT");
    }
}
