package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.PolicyParser;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The iptables backends' read-back against a real podman container whose workload holds
 * CAP_NET_ADMIN (the test acts for it, from the host inside the container's namespace): it deletes
 * netfence's hooks and adds a rule in FORWARD whose xt_recent list name prints the deleted hook
 * lines in iptables-save's text. The resync must not report the policy in force, and must leave
 * the peer container's port closed again.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class IptablesReadBackPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    @Test
    void aWorkloadThatDeletesTheHooksAndForgesThemInTheSaveOutputIsNotReportedInForce() throws Exception {
        PodmanContainer peer = PODMAN.peer(8080);
        PodmanContainer sandbox = PODMAN.sandbox();
        DefaultEnforcer enforcer = new DefaultEnforcer(EnforcerConfig.custom().cgroupCheck(true)
                .backend(BackendChoice.IPTABLES_NFT).backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build(),
                new ProcessCommandRunner(), Clock.systemUTC(), new SimpleMeterRegistry());
        EnforcementRequest request = new EnforcementRequest(sandbox.id(), "podman", sandbox.pid(), sandbox.sandboxKey(),
                new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":"
                        + "[\"198.18.0.9:1\"],\"dns\":false,\"outbound\":false,\"inbound\":false}")
                        .getBytes(StandardCharsets.UTF_8)), Clock.systemUTC().instant().plusSeconds(60));
        assertThat(enforcer.enforce(request).status()).isEqualTo("applied");
        assertThat(sandbox.agent().send("tcp " + peer.ipv4() + " 8080 1500")).isNotEqualTo("OK");

        for (String iptables : List.of("iptables-nft", "ip6tables-nft")) {
            workload(sandbox, iptables, "-D", "OUTPUT", "-j", "NETFENCE-OUT");
            workload(sandbox, iptables, "-D", "INPUT", "-j", "NETFENCE-IN");
            workload(sandbox, iptables, "-A", "FORWARD", "-m", "recent", "--rcheck", "--name",
                    "a\n-A INPUT -j NETFENCE-IN\n-A OUTPUT -j NETFENCE-OUT\n-A FORWARD", "-j", "RETURN");
        }
        assertThat(Sh.ok("nsenter", "-t", String.valueOf(sandbox.pid()), "-n", "iptables-nft-save", "-t", "filter"))
                .contains("\n-A OUTPUT -j NETFENCE-OUT\n");
        assertThat(sandbox.agent().send("tcp " + peer.ipv4() + " 8080 1500")).as("unhooked: open").isEqualTo("OK");

        EnforcementResult resync = enforcer.reconcile(request);

        assertThat(resync.status()).as("%s", resync).isNotEqualTo("applied");
        assertThat(resync.error().message()).contains("-m recent");
        assertThat(sandbox.agent().send("tcp " + peer.ipv4() + " 8080 1500")).as("closed again").isNotEqualTo("OK");
    }

    private static void workload(PodmanContainer c, String... argv) {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "-t", String.valueOf(c.pid()), "-n"));
        cmd.addAll(List.of(argv));
        Sh.ok(cmd.toArray(String[]::new));
    }
}
