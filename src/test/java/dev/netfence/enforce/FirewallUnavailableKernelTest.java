package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.CommandResult;
import dev.netfence.netns.CommandRunner;
import dev.netfence.netns.CommandTimeoutException;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.Rulesets;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * iptables missing from the machine: every command runs for real, but through
 * {@code env PATH=DIR}, where DIR holds only {@code nsenter} (a symlink to the real one), so
 * nsenter cannot find any iptables binary, exactly as on a host without the package. The event
 * must fail with FIREWALL_UNAVAILABLE after one attempt (no retries: waiting does not install a
 * package), the namespace must be unchanged, and the result must still be an outcome the
 * pipeline can publish.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class FirewallUnavailableKernelTest {
    private static Path bin;
    private static String ns;
    private static Process container;

    @BeforeAll
    static void createContainerAndPathWithoutIptables() throws Exception {
        byte[] r = new byte[4];
        new SecureRandom().nextBytes(r);
        ns = "nft-" + HexFormat.of().formatHex(r) + "-c";
        Sh.ok("ip", "netns", "add", ns);
        // an interface besides lo, as a container's namespace has (a lo-only one is refused before any command)
        Sh.ok("ip", "-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
        container = new ProcessBuilder("ip", "netns", "exec", ns, "sleep", "infinity")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
        bin = Files.createTempDirectory("netfence-no-iptables-");
        for (String tool : List.of("nsenter")) {
            Path real = Path.of(Sh.ok("sh", "-c", "command -v " + tool).strip());
            Files.createSymbolicLink(bin.resolve(tool), real);
        }
        for (int i = 0; i < 500 && !Files.readString(Path.of("/proc/" + container.pid() + "/cmdline")).startsWith("sleep"); i++) {
            Thread.sleep(10);
        }
    }

    @AfterAll
    static void cleanUp() throws Exception {
        if (container != null) {
            container.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (ns != null) {
            Sh.run("ip", "netns", "del", ns);
        }
        if (bin != null) {
            try (var files = Files.list(bin)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(bin);
        }
    }

    @Test
    void aFixedBackendWhoseBinariesAreMissingFailsOnceWithFirewallUnavailable() {
        String before = rules();
        NoIptablesRunner runner = new NoIptablesRunner();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();

        EnforcementResult result = enforcer(BackendChoice.IPTABLES_NFT, runner, registry).enforce(request());

        assertThat(runner.iptablesCalls()).as("iptables was really looked for").isNotEmpty();
        assertThat(runner.iptablesCalls()).allSatisfy(r -> assertThat(r.exitCode()).isEqualTo(127));
        assertThat(result.status()).as("%s", result).isEqualTo("failed");
        assertThat(result.error().code()).isEqualTo("FIREWALL_UNAVAILABLE");
        assertThat(result.error().retryable()).isFalse();
        assertThat(result.attempts()).isEqualTo(1);
        assertThat(registry.find("netfence.retries").counters()).allSatisfy(c -> assertThat(c.count()).isZero());
        assertThat(result.quarantined()).as("a quarantine needs iptables too").isFalse();
        assertThat(rules()).isEqualTo(before);
    }

    @Test
    void detectingTheIptablesVariantWithoutIptablesFailsOnceWithFirewallUnavailable() {
        NoIptablesRunner runner = new NoIptablesRunner();

        EnforcementResult result = enforcer(BackendChoice.IPTABLES, runner, new SimpleMeterRegistry()).enforce(request());

        assertThat(result.status()).as("%s", result).isEqualTo("failed");
        assertThat(result.error().code()).isEqualTo("FIREWALL_UNAVAILABLE");
        assertThat(result.attempts()).isEqualTo(1);
        assertThat(result.quarantined()).isFalse();
    }

    @Test
    void autoWithoutIptablesUsesNftablesInProcess() {
        EnforcementResult result = enforcer(BackendChoice.AUTO, new NoIptablesRunner(), new SimpleMeterRegistry())
                .enforce(request());

        assertThat(result.status()).as("%s", result).isEqualTo("applied");
        assertThat(result.backend()).isEqualTo("nft");
        assertThat(Sh.ok("ip", "netns", "exec", ns, "nft", "list", "table", "inet", "netfence")).contains("chain output");
        Sh.ok("ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "netfence");
    }

    private static String rules() {
        return Rulesets.normalize(Sh.ok("ip", "netns", "exec", ns, "iptables-nft-save"))
                + Rulesets.normalize(Sh.ok("ip", "netns", "exec", ns, "ip6tables-nft-save"));
    }

    private static EnforcementRequest request() {
        String json = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"198.18.0.9:443\"],"
                + "\"dns\":false,\"outbound\":false,\"inbound\":false}";
        NetworkPolicy policy = new PolicyParser().parse(json.getBytes(StandardCharsets.UTF_8));
        return new EnforcementRequest(null, null, (int) container.pid(), policy, Clock.systemUTC().instant().plusSeconds(20));
    }

    private static DefaultEnforcer enforcer(BackendChoice backend, CommandRunner runner, SimpleMeterRegistry registry) {
        EnforcerConfig config = EnforcerConfig.custom().backend(backend)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        return new DefaultEnforcer(config, runner, Clock.systemUTC(), registry);
    }

    /** Runs each argv for real as {@code env PATH=<bin> argv...}; records the iptables invocations. */
    private static final class NoIptablesRunner implements CommandRunner {
        private final ProcessCommandRunner real = new ProcessCommandRunner();
        private final List<CommandResult> iptables = new CopyOnWriteArrayList<>();

        @Override
        public CommandResult run(List<String> argv, byte[] stdin, Duration timeout)
                throws IOException, CommandTimeoutException, InterruptedException {
            List<String> wrapped = new ArrayList<>(List.of("env", "PATH=" + bin));
            wrapped.addAll(argv);
            CommandResult result = real.run(wrapped, stdin, timeout);
            if (argv.stream().anyMatch(a -> a.contains("tables"))) {
                iptables.add(result);
            }
            return result;
        }

        List<CommandResult> iptablesCalls() {
            return iptables;
        }
    }
}
