package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.PolicyParser;
import dev.netfence.rules.RulePlanner;
import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 12 item 1 against real podman containers, with the cgroup check on: the workload
 * writes {@code nameserver <blocked peer>} into its own /etc/resolv.conf, which before issue 12
 * opened TCP and UDP 53 to that peer inside a blocked subnet (podman's bridge 10.88.0.0/16 is in
 * the default 10.0.0.0/8); now port 53 opens only to the resolver the operator configured.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class TrustedDnsPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final String PROBE_MS = " 2000";

    @Test
    void aNameserverTheWorkloadWritesOpensNothingWhileTheOperatorsResolverWorks() throws Exception {
        PodmanContainer blocked = PODMAN.start("blockedns", List.of(), "/bin/sleep", "3600");
        PodmanContainer resolver = PODMAN.start("resolver", List.of(), "/bin/sleep", "3600");
        // what the blocked peer saw is asked of the agent that listens there (agent() starts a new one)
        Agent blockedListener = null;
        for (PodmanContainer peer : List.of(blocked, resolver)) {
            Agent agent = peer.agent();
            assertThat(agent.send("listen tcp 53")).isEqualTo("OK");
            assertThat(agent.send("listen udp 53")).isEqualTo("OK");
            blockedListener = peer == blocked ? agent : blockedListener;
        }
        PodmanContainer sandbox = PODMAN.sandbox();
        assertThat(sandbox.exec("sh", "-c", "echo nameserver " + blocked.ipv4() + " > /etc/resolv.conf").ok()).isTrue();
        assertThat(sandbox.exec("cat", "/etc/resolv.conf").stdout()).isEqualTo("nameserver " + blocked.ipv4() + "\n");
        Agent probe = sandbox.agent();
        // without rules the blocked peer's port 53 is reachable: every REFUSED below is the policy's doing
        assertThat(probe.send("tcp " + blocked.ipv4() + " 53" + PROBE_MS)).isEqualTo("OK");
        Agent listener = blockedListener;
        // recorded by the listener's accept thread, after the handshake the probe reported: waited for
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(listener.send("seen 53"))
                .as("the blocked peer saw the probe without rules").isEqualTo("tcp/" + sandbox.ipv4()));
        String seenBeforeRules = blockedListener.send("seen 53");

        EnforcementResult untrusted = apply(sandbox, List.of());

        assertThat(untrusted.status()).as("%s", untrusted).isEqualTo("applied");
        assertThat(untrusted.nameservers()).isEmpty();
        assertThat(untrusted.warnings()).containsExactly(RulePlanner.NO_RESOLVER_WARNING);
        assertThat(probe.send("tcp " + blocked.ipv4() + " 53" + PROBE_MS)).isEqualTo("REFUSED");
        assertThat(probe.send("udp " + blocked.ipv4() + " 53" + PROBE_MS)).isNotEqualTo("OK");

        EnforcementResult trusted = apply(sandbox, List.of(InetAddress.getByName(resolver.ipv4())));

        assertThat(trusted.status()).as("%s", trusted).isEqualTo("applied");
        assertThat(trusted.nameservers()).containsExactly(resolver.ipv4());
        assertThat(trusted.warnings()).isEmpty();
        assertThat(probe.send("tcp " + resolver.ipv4() + " 53" + PROBE_MS)).isEqualTo("OK");
        assertThat(probe.send("udp " + resolver.ipv4() + " 53" + PROBE_MS)).isEqualTo("OK");
        assertThat(probe.send("tcp " + blocked.ipv4() + " 53" + PROBE_MS)).isEqualTo("REFUSED");
        assertThat(probe.send("udp " + blocked.ipv4() + " 53" + PROBE_MS)).isNotEqualTo("OK");
        // nothing reached the blocked peer after the first apply
        assertThat(blockedListener.send("seen 53")).isEqualTo(seenBeforeRules);
    }

    /** Applies a DNS-on, outbound-off policy to the sandbox as netfence run would, the node trusting {@code dnsServers}. */
    private static EnforcementResult apply(PodmanContainer sandbox, List<InetAddress> dnsServers) {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.AUTO).cgroupCheck(true)
                .dnsServers(dnsServers).backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        DefaultEnforcer enforcer = new DefaultEnforcer(config, new ProcessCommandRunner(), Clock.systemUTC(),
                new SimpleMeterRegistry());
        var policy = new PolicyParser().parse(("{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[],"
                + "\"dns\":true,\"outbound\":false,\"inbound\":false}").getBytes(StandardCharsets.UTF_8));
        return enforcer.enforce(new EnforcementRequest(sandbox.id(), "podman", sandbox.pid(), policy,
                Clock.systemUTC().instant().plusSeconds(30)));
    }
}
