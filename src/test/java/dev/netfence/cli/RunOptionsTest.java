package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.enforce.OnFailure;
import dev.netfence.kafka.Assignment;
import dev.netfence.netns.BackendChoice;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/**
 * The options of {@code netfence run} from their three sources (flag > {@code NETFENCE_*}
 * environment > {@code --config} file > default) and the exact one-line messages and exit code 2
 * of every bad value. The messages are a contract (operators' scripts grep them): they are pinned
 * here byte for byte.
 */
class RunOptionsTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    /** The configuration {@code args} and {@code env} describe, without starting anything. */
    static dev.netfence.app.RunConfig config(Map<String, String> env, String... args) {
        RunCommand command = new RunCommand(env, () -> "host-1");
        Main.configure(new CommandLine(command), new PrintWriter(new StringWriter()),
                new PrintWriter(new StringWriter())).parseArgs(args);
        return command.config();
    }

    /** Runs {@code netfence run} with options that must be refused before anything starts. */
    private int refusedOnHost(String hostname, Map<String, String> env, String... args) {
        RunCommand command = new RunCommand(env, () -> hostname);
        int code = Main.configure(new CommandLine(command), new PrintWriter(out, true), new PrintWriter(err, true))
                .execute(args);
        assertThat(out.toString()).isEmpty();
        return code;
    }

    private int refused(Map<String, String> env, String... args) {
        return refusedOnHost("host-1", env, args);
    }

    private Path file(String text) throws IOException {
        Path f = dir.resolve("netfence.properties");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void withNothingSetEveryOptionHasItsDocumentedDefault() {
        var c = config(Map.of());
        assertThat(c.bootstrapServers()).isEqualTo("127.0.0.1:9092");
        assertThat(c.nodeId()).isEqualTo("host-1");
        assertThat(c.assignment()).isEqualTo(Assignment.GROUP);
        assertThat(c.eventsTopic()).isEqualTo("sandbox.container-events");
        assertThat(c.outcomesTopic()).isEqualTo("sandbox.policy-outcomes");
        assertThat(c.policiesTopic()).isEqualTo("sandbox.policies");
        assertThat(c.policyDir()).isNull();
        assertThat(c.exactlyOnce()).isFalse();
        assertThat(c.concurrency()).isEqualTo(8);
        assertThat(c.maxInFlight()).isEqualTo(1000);
        assertThat(c.eventDeadline()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.onFailure()).isEqualTo(OnFailure.QUARANTINE);
        assertThat(c.dryRun()).isFalse();
        assertThat(c.backend()).isEqualTo(BackendChoice.AUTO);
        assertThat(c.httpPort()).isEqualTo(9464);
        assertThat(c.shutdownTimeout()).as("fits a 30 s grace period").isEqualTo(Duration.ofSeconds(15));
        assertThat(c.configFile()).isNull();
        assertThat(c.logFormat().name()).isEqualTo("TEXT");
        assertThat(c.cgroupCheck()).isTrue();
        assertThat(c.policyWait()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.stallTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.groupInstanceId()).isNull();
        assertThat(c.resyncInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.enforcementsTopic()).isEqualTo("sandbox.enforcements");
        assertThat(c.hookSocket()).isEqualTo(Path.of("/run/netfence/hook.sock"));
        assertThat(c.kafka()).isEmpty();
    }

    @Test
    void kafkaBootstrapServersIsTheDefaultBootstrap() {
        assertThat(config(Map.of("KAFKA_BOOTSTRAP_SERVERS", "k:9093")).bootstrapServers()).isEqualTo("k:9093");
    }

    @Test
    void aFlagBeatsTheEnvironmentWhichBeatsTheFileWhichBeatsTheDefault() throws IOException {
        Path f = file("node-id=from-file\nconcurrency=3\nmax-in-flight=77\nbootstrap-servers=file:1\n");
        Map<String, String> env = Map.of("NETFENCE_CONFIG", f.toString(), "NETFENCE_NODE_ID", "from-env",
                "NETFENCE_CONCURRENCY", "5", "KAFKA_BOOTSTRAP_SERVERS", "kbs:1");
        var c = config(env, "--node-id", "from-flag");
        assertThat(c.nodeId()).isEqualTo("from-flag");
        assertThat(c.concurrency()).isEqualTo(5);
        assertThat(c.maxInFlight()).isEqualTo(77);
        assertThat(c.bootstrapServers()).isEqualTo("file:1");
        assertThat(c.configFile()).isEqualTo(f);
    }

    @Test
    void aFlagHidesABadValueOfTheSameOptionInTheEnvironmentAndTheFile() throws IOException {
        Path f = file("max-in-flight=many\n");
        var c = config(Map.of("NETFENCE_CONCURRENCY", "x"), "--concurrency", "4", "--max-in-flight", "9",
                "--config", f.toString());
        assertThat(c.concurrency()).isEqualTo(4);
        assertThat(c.maxInFlight()).isEqualTo(9);
    }

    @Test
    void kafkaPrefixedFileKeysPassThroughWithoutThePrefix() throws IOException {
        Path f = file("kafka.security.protocol=SSL\nkafka.ssl.truststore.location=/etc/ts.jks\n");
        assertThat(config(Map.of(), "--config", f.toString()).kafka())
                .isEqualTo(Map.of("security.protocol", "SSL", "ssl.truststore.location", "/etc/ts.jks"));
    }

    @Test
    void everyOptionCanBeSetFromTheFile() throws IOException {
        Path f = file(String.join("\n", "bootstrap-servers=a:1,b:2", "node-id=*", "assignment=node-partition",
                "events-topic=ev", "outcomes-topic=out", "policies-topic=pol", "policy-dir=" + dir,
                "exactly-once=true", "concurrency=16", "max-in-flight=50", "event-deadline=PT1M",
                "on-failure=leave", "dry-run=TRUE", "iptables-backend=legacy", "http-port=0",
                "shutdown-timeout=500ms", "log-format=json", "cgroup-check=false", "policy-wait=2s",
                "dns-servers=10.88.0.1, 2001:db8::53"));
        var c = config(Map.of(), "--config", f.toString());
        assertThat(c.bootstrapServers()).isEqualTo("a:1,b:2");
        assertThat(c.nodeId()).isEqualTo("*");
        assertThat(c.assignment()).isEqualTo(Assignment.NODE_PARTITION);
        assertThat(c.eventsTopic()).isEqualTo("ev");
        assertThat(c.outcomesTopic()).isEqualTo("out");
        assertThat(c.policiesTopic()).isEqualTo("pol");
        assertThat(c.policyDir()).isEqualTo(dir);
        assertThat(c.exactlyOnce()).isTrue();
        assertThat(c.concurrency()).isEqualTo(16);
        assertThat(c.maxInFlight()).isEqualTo(50);
        assertThat(c.eventDeadline()).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.onFailure()).isEqualTo(OnFailure.LEAVE);
        assertThat(c.dryRun()).isTrue();
        assertThat(c.backend()).isEqualTo(BackendChoice.IPTABLES_LEGACY);
        assertThat(c.httpPort()).isZero();
        assertThat(c.shutdownTimeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(c.configFile()).isEqualTo(f);
        assertThat(c.logFormat().name()).isEqualTo("JSON");
        assertThat(c.cgroupCheck()).isFalse();
        assertThat(c.policyWait()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.dnsServers()).extracting(java.net.InetAddress::getHostAddress)
                .containsExactly("10.88.0.1", "2001:db8:0:0:0:0:0:53");
    }

    @Test
    void theHttpPortListensOnEveryAddressUnlessOneIsNamed() {
        assertThat(config(Map.of()).httpAddress()).isNull();
        assertThat(config(Map.of("NETFENCE_HTTP_ADDRESS", "127.0.0.1")).httpAddress().getHostAddress())
                .isEqualTo("127.0.0.1");
        assertThat(config(Map.of("NETFENCE_HTTP_ADDRESS", "::1")).httpAddress().isLoopbackAddress()).isTrue();
    }

    @Test
    void withoutDnsServersTheNodeTrustsNoResolver() {
        assertThat(config(Map.of()).dnsServers()).isEmpty();
        assertThat(config(Map.of("NETFENCE_DNS_SERVERS", "10.88.0.1")).dnsServers())
                .extracting(java.net.InetAddress::getHostAddress).containsExactly("10.88.0.1");
    }

    @Test
    void everyOptionCanBeSetFromTheEnvironment() {
        var c = config(Map.of("NETFENCE_NODE_ID", "env-node", "NETFENCE_EXACTLY_ONCE", "true",
                "NETFENCE_EVENT_DEADLINE", "2m", "NETFENCE_LOG_FORMAT", "JSON", "NETFENCE_HTTP_PORT", "1234",
                "NETFENCE_CGROUP_CHECK", "false", "NETFENCE_ON_FAILURE", "leave"));
        assertThat(c.nodeId()).isEqualTo("env-node");
        assertThat(c.exactlyOnce()).isTrue();
        assertThat(c.eventDeadline()).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.logFormat().name()).isEqualTo("JSON");
        assertThat(c.httpPort()).isEqualTo(1234);
        assertThat(c.cgroupCheck()).isFalse();
        assertThat(c.onFailure()).isEqualTo(OnFailure.LEAVE);
    }

    @Test
    void switchesWithoutAValueAreOnAndTakeAnExplicitValue() {
        var on = config(Map.of(), "--dry-run", "--exactly-once", "--cgroup-check");
        assertThat(on.dryRun()).isTrue();
        assertThat(on.exactlyOnce()).isTrue();
        assertThat(on.cgroupCheck()).isTrue();
        var off = config(Map.of("NETFENCE_DRY_RUN", "true"), "--dry-run=false", "--cgroup-check", "false");
        assertThat(off.dryRun()).isFalse();
        assertThat(off.cgroupCheck()).isFalse();
    }

    @Test
    void refusedCapabilitiesAreNoneByDefaultAndTakeEitherSpelling() {
        assertThat(config(Map.of()).refuseCapabilities()).isEmpty();
        assertThat(config(Map.of(), "--refuse-capabilities", "NET_ADMIN,cap_net_raw").refuseCapabilities())
                .containsExactlyInAnyOrder("CAP_NET_ADMIN", "CAP_NET_RAW");
        assertThat(config(Map.of("NETFENCE_REFUSE_CAPABILITIES", "net_raw")).refuseCapabilities())
                .containsExactly("CAP_NET_RAW");
    }

    @Test
    void valuesAreTrimmed() {
        var c = config(Map.of("NETFENCE_CONCURRENCY", " 12 "), "--event-deadline", " 45s ");
        assertThat(c.concurrency()).isEqualTo(12);
        assertThat(c.eventDeadline()).isEqualTo(Duration.ofSeconds(45));
    }

    @Test
    void unknownNetfenceEnvironmentVariablesAreIgnored() {
        assertThat(config(Map.of("NETFENCE_REQUIRE_KERNEL_TESTS", "1")).nodeId()).isEqualTo("host-1");
    }

    @Test
    void anUnknownFileKeyIsRefusedByName() throws IOException {
        Path f = file("node-id=n1\nconcurency=4\n");
        assertThat(refused(Map.of(), "--config", f.toString())).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo("netfence run: unknown key in config file " + f + ": concurency\n");
    }

    @Test
    void theConfigKeyIsNotAllowedInTheConfigFile() throws IOException {
        Path f = file("config=/etc/other.properties\n");
        assertThat(refused(Map.of("NETFENCE_CONFIG", f.toString()))).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo("netfence run: unknown key in config file " + f + ": config\n");
    }

    @Test
    void aKafkaSettingTheProducerWouldRefuseIsAUsageErrorNamingTheKeyInsteadOfClientsRecreatedForever()
            throws IOException {
        Path f = file("node-id=n1\nkafka.delivery.timeout.ms=1000\n");
        assertThat(refused(Map.of(), "--config", f.toString())).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo("netfence run: invalid value for kafka.delivery.timeout.ms in " + f
                + ": must be at least linger.ms + request.timeout.ms (1 + 30000 ms), was: 1000\n");
    }

    @Test
    void aKafkaSettingOfTheWrongTypeIsAUsageErrorNamingTheKey() throws IOException {
        Path f = file("node-id=n1\nkafka.max.poll.interval.ms=soon\n");
        assertThat(refused(Map.of(), "--config", f.toString())).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo("netfence run: invalid value for kafka.max.poll.interval.ms in " + f
                + ": Not a number of type INT, was: soon\n");
    }

    @Test
    void theHookSocketCanBeSwitchedOffAndTheReconcilerOptionsComeFromTheEnvironmentToo() {
        assertThat(config(Map.of(), "--hook-socket", "off").hookSocket()).isNull();
        var c = config(Map.of("NETFENCE_RESYNC_INTERVAL", "1s", "NETFENCE_ENFORCEMENTS_TOPIC", "enf",
                "NETFENCE_HOOK_SOCKET", "/tmp/h.sock"));
        assertThat(c.resyncInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.enforcementsTopic()).isEqualTo("enf");
        assertThat(c.hookSocket()).isEqualTo(Path.of("/tmp/h.sock"));
    }

    @Test
    void theBackendComesFromBackendOrItsOldAliasWhichAlwaysMeansIptables() {
        assertThat(config(Map.of(), "--backend", "nft").backend()).isEqualTo(BackendChoice.NFT);
        assertThat(config(Map.of(), "--backend", "iptables").backend()).isEqualTo(BackendChoice.IPTABLES);
        assertThat(config(Map.of("NETFENCE_BACKEND", "iptables-nft")).backend()).isEqualTo(BackendChoice.IPTABLES_NFT);
        assertThat(config(Map.of(), "--iptables-backend", "auto").backend()).isEqualTo(BackendChoice.IPTABLES);
        assertThat(config(Map.of(), "--iptables-backend", "nft").backend()).isEqualTo(BackendChoice.IPTABLES_NFT);
        assertThat(config(Map.of("NETFENCE_IPTABLES_BACKEND", "legacy")).backend())
                .isEqualTo(BackendChoice.IPTABLES_LEGACY);
        assertThat(refused(Map.of(), "--backend", "nft", "--iptables-backend", "nft")).isEqualTo(Main.USAGE);
        assertThat(err.toString()).startsWith("--backend and --iptables-backend are the same setting: give one\n");
    }

    @Test
    void theTopicsItReadsAndWritesMustBeFiveDifferentTopics() {
        assertThat(refused(Map.of(), "--outcomes-topic", "sandbox.container-events")).isEqualTo(Main.USAGE);
        assertThat(err.toString()).startsWith("--outcomes-topic sandbox.container-events is also --events-topic: the"
                + " events, outcomes, policies, enforcements and dead-letter topics must be five different topics\n");
        err.getBuffer().setLength(0);
        assertThat(refused(Map.of("NETFENCE_ENFORCEMENTS_TOPIC", "ev.dlq"), "--events-topic", "ev")).isEqualTo(Main.USAGE);
        assertThat(err.toString()).startsWith("the dead-letter topic (--events-topic + .dlq) ev.dlq is also"
                + " --enforcements-topic: ");
        err.getBuffer().setLength(0);
        assertThat(refused(Map.of(), "--policies-topic", "sandbox.policy-outcomes")).isEqualTo(Main.USAGE);
        assertThat(err.toString()).startsWith("--policies-topic sandbox.policy-outcomes is also --outcomes-topic: ");

        assertThat(config(Map.of(), "--policies-topic", "sandbox.policy-outcomes", "--policy-dir", dir.toString())
                .policyDir()).as("the policies topic is not read with --policy-dir").isEqualTo(dir);
    }

    @Test
    void aStallTimeoutNoLongerThanTheEventDeadlineIsRefused() {
        assertThat(refused(Map.of(), "--stall-timeout", "1ms")).isEqualTo(Main.USAGE);
        assertThat(err.toString()).startsWith("--stall-timeout 1ms must be longer than --event-deadline 30s: an event"
                + " may take that long in the normal course, and /readyz would fail while it does\n");
        err.getBuffer().setLength(0);
        assertThat(refused(Map.of("NETFENCE_EVENT_DEADLINE", "2m"), "--stall-timeout", "120s")).isEqualTo(Main.USAGE);
        assertThat(err.toString()).startsWith("--stall-timeout 2m must be longer than --event-deadline 2m: ");

        assertThat(config(Map.of(), "--stall-timeout", "31s").stallTimeout()).isEqualTo(Duration.ofSeconds(31));
        assertThat(config(Map.of("NETFENCE_EVENT_DEADLINE", "2m")).stallTimeout()).as("unset: the deadline + 1m")
                .isEqualTo(Duration.ofMinutes(3));
        assertThat(config(Map.of("NETFENCE_EVENT_DEADLINE", "10s")).stallTimeout()).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void aMissingConfigFileIsRefused() {
        Path missing = dir.resolve("nope");
        assertThat(refused(Map.of(), "--config", missing.toString())).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo("netfence run: cannot read config file " + missing + ": " + missing + "\n");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--concurrency=0|invalid value for --concurrency: must be an integer from 1 to 1024, was: 0",
        "--concurrency=lots|invalid value for --concurrency: must be an integer from 1 to 1024, was: lots",
        "--max-in-flight=-1|invalid value for --max-in-flight: must be an integer from 1 to 100000, was: -1",
        "--http-port=70000|invalid value for --http-port: must be an integer from 0 to 65535, was: 70000",
        "--event-deadline=soon|invalid value for --event-deadline: must be a duration like 500ms, 30s, 2m, 1h or PT30S, was: soon",
        "--shutdown-timeout=0s|invalid value for --shutdown-timeout: must be a positive duration, was: 0s",
        "--policy-wait=PT0S|invalid value for --policy-wait: must be a positive duration, was: PT0S",
        "--stall-timeout=0s|invalid value for --stall-timeout: must be a positive duration, was: 0s",
        "--group-instance-id=a b|invalid value for --group-instance-id: must be none or match [A-Za-z0-9._-]{1,249}, was: a b",
        "--resync-interval=50ms|invalid value for --resync-interval: must be at least 100ms, was: 50ms",
        "--hook-socket=run/hook.sock|invalid value for --hook-socket: must be an absolute path or off, was: run/hook.sock",
        "--assignment=random|invalid value for --assignment: must be group or node-partition, was: random",
        "--on-failure=ignore|invalid value for --on-failure: must be quarantine or leave, was: ignore",
        "--iptables-backend=ebpf|invalid value for --iptables-backend: must be auto, nft or legacy, was: ebpf",
        "--backend=ebpf|invalid value for --backend: must be auto, nft, iptables, iptables-nft or iptables-legacy, was: ebpf",
        "--log-format=xml|invalid value for --log-format: must be text or json, was: xml",
        "--exactly-once=yes|invalid value for --exactly-once: must be true or false, was: yes",
        "--dry-run=1|invalid value for --dry-run: must be true or false, was: 1",
        "--cgroup-check=no|invalid value for --cgroup-check: must be true or false, was: no",
        "--dns-servers=aardvark.internal|invalid value for --dns-servers: invalid address \"aardvark.internal\" (expected an IPv4 or IPv6 address, e.g. \"10.88.0.1\")",
        "--dns-servers=10.88.0.1;10.88.0.2|invalid value for --dns-servers: invalid address \"10.88.0.1;10.88.0.2\" (expected an IPv4 or IPv6 address, e.g. \"10.88.0.1\")",
        "--http-address=localhost|invalid value for --http-address: must be an IPv4 or IPv6 address literal, was: localhost",
        "--http-address=10.0.0.1:9464|invalid value for --http-address: must be an IPv4 or IPv6 address literal, was: 10.0.0.1:9464",
        "--dns-servers=0.0.0.0|invalid value for --dns-servers: unspecified address \"0.0.0.0\" cannot be a resolver",
        "--refuse-capabilities=SYS_ADMIN|invalid value for --refuse-capabilities: must be a comma-separated list of NET_ADMIN, NET_RAW, was: SYS_ADMIN",
        "--host-guard=maybe|invalid value for --host-guard: must be auto, off or required, was: maybe",
        "--node-id=bad node|invalid value for --node-id: must be * or match [A-Za-z0-9._-]{1,253}, was: bad node",
        "--events-topic=a/b|invalid value for --events-topic: must be a Kafka topic name, was: a/b",
        "--outcomes-topic=|'invalid value for --outcomes-topic: must be a Kafka topic name, was: '",
        "--policies-topic=x y|invalid value for --policies-topic: must be a Kafka topic name, was: x y",
        "--bootstrap-servers=localhost|invalid value for --bootstrap-servers: must be host:port[,host:port...], was: localhost",
    })
    void aBadFlagValueIsOneLineNamingTheFlagAndExitTwo(String arg, String message) {
        assertThat(refused(Map.of(), arg)).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo("netfence run: " + message + "\n");
    }

    @Test
    void aBadFlagValueGivenAsTheNextArgumentIsReportedTheSameWay() {
        assertThat(refused(Map.of(), "--concurrency", "zero")).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo(
                "netfence run: invalid value for --concurrency: must be an integer from 1 to 1024, was: zero\n");
    }

    @Test
    void aBadEnvironmentValueNamesTheVariable() {
        assertThat(refused(Map.of("NETFENCE_CONCURRENCY", "x"))).isEqualTo(Main.USAGE);
        assertThat(err.toString())
                .isEqualTo("netfence run: invalid value for NETFENCE_CONCURRENCY: must be an integer from 1 to 1024, was: x\n");
    }

    @Test
    void aBadKafkaBootstrapServersVariableNamesIt() {
        assertThat(refused(Map.of("KAFKA_BOOTSTRAP_SERVERS", "nohost"))).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo("netfence run: invalid value for KAFKA_BOOTSTRAP_SERVERS: "
                + "must be host:port[,host:port...], was: nohost\n");
    }

    @Test
    void aBadFileValueNamesTheKeyAndTheFile() throws IOException {
        Path f = file("max-in-flight=many\n");
        assertThat(refused(Map.of(), "--config", f.toString())).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo("netfence run: invalid value for max-in-flight in " + f
                + ": must be an integer from 1 to 100000, was: many\n");
    }

    @Test
    void aPolicyDirThatIsNotADirectoryIsRefused() {
        String missing = dir.resolve("missing").toString();
        assertThat(refused(Map.of(), "--policy-dir", missing)).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo("netfence run: invalid value for --policy-dir: is not a directory: "
                + missing + "\n");
    }

    @Test
    void aHostNameThatIsNotANodeIdIsReportedAsTheNodeIdDefault() {
        assertThat(refusedOnHost("bad host", Map.of())).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo("netfence run: invalid value for --node-id (default: the host name): "
                + "must be * or match [A-Za-z0-9._-]{1,253}, was: bad host\n");
    }

    @Test
    void aHostWithoutANameIsRefusedAtStartInsteadOfRunningAsLocalhost() {
        assertThat(refusedOnHost(null, Map.of())).isEqualTo(Main.USAGE);
        assertThat(err.toString()).isEqualTo("netfence run: cannot tell this host's name (HOSTNAME unset, no kernel "
                + "host name, none from the resolver): pass --node-id\n");
    }

    @Test
    void anUnknownOptionIsPicocliUsageErrorWithTheUsage() {
        assertThat(refused(Map.of(), "--bogus")).isEqualTo(Main.USAGE);
        assertThat(err.toString()).startsWith("Unknown option: '--bogus'\nUsage: run ");
    }
}
