package dev.netfence.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.netfence.netns.CommandResult;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scripts/netfence apply} as a user runs it (the real launcher and jar, as a separate
 * process) against a process in a fresh namespace; real connections show the rules hold for
 * IPv4 and IPv6. It runs as a Failsafe integration test, after `package` has built the jar.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
class LauncherKernelIT {

    @TempDir
    Path dir;

    @Test
    void theLauncherAppliesAPolicyThatHoldsForIpv4AndIpv6() throws Exception {
        try (SandboxNet net = SandboxNet.create()) {
            net.peerListens(8443);
            net.peerListens(8444);
            Path policy = Files.writeString(dir.resolve("policy.json"), "{\"schemaVersion\":1,\"mode\":\"bridge\","
                    + "\"allowedEndpoints\":[\"" + net.peerV4() + ":8443\",\"[" + net.peerV6() + "]:8443\"],"
                    + "\"dns\":false,\"outbound\":false,\"inbound\":false}");
            assertThat(net.containerTcp(net.peerV4(), 8444)).isEqualTo("OK");

            CommandResult run = new ProcessCommandRunner().run(List.of(Path.of("scripts/netfence").toAbsolutePath().toString(),
                    "apply", "--policy", policy.toString(), "--pid", Integer.toString(net.containerPid())), new byte[0],
                    Duration.ofMinutes(5));

            assertThat(run.exitCode()).as("stderr: %s", run.stderr()).isZero();
            JsonNode outcome = new ObjectMapper().readTree(run.stdout());
            assertThat(outcome.get("status").asText()).isEqualTo("applied");
            assertThat(outcome.get("families").toString()).isEqualTo("[\"ipv4\",\"ipv6\"]");
            assertThat(net.containerTcp(net.peerV4(), 8443)).isEqualTo("OK");
            assertThat(net.containerTcp(net.peerV6(), 8443)).isEqualTo("OK");
            assertThat(net.containerTcp(net.peerV4(), 8444)).isEqualTo("REFUSED");
            assertThat(net.containerTcp(net.peerV6(), 8444)).isEqualTo("REFUSED");
            assertThat(net.containerTcp(net.otherHostV6(), 8443)).isEqualTo("REFUSED");
        }
    }
}
