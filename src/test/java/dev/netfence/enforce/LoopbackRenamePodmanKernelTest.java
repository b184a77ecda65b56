package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.netns.BackendChoice;
import dev.netfence.netns.ProcessCommandRunner;
import dev.netfence.policy.NetworkPolicy;
import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import dev.netfence.testkit.Streams;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The nft backend's loopback accepts match the interface's type, not its name: a workload holding
 * CAP_NET_ADMIN in its namespace renames {@code lo} and then its {@code eth0} to {@code lo}, which
 * a match on the name ({@code oifname "lo"}) took for loopback, accepting everything on the real
 * interface in both directions while netfence's table read back unchanged. Against a real podman
 * container, the test doing the renames from the host side inside the container's namespace (as
 * the workload could). The iptables backends still match by name ({@code -o lo}); their read-back
 * does not hold against CAP_NET_ADMIN anyway (README).
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class LoopbackRenamePodmanKernelTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int HTTP = 8080;
    private static final int BLOCKED = 7310;
    private static final int INBOUND = 7311;
    private static final int LOCAL = 7312;

    @Test
    void anInterfaceRenamedLoIsNotTakenForLoopbackAndTheRealLoopbackStillWorks() throws Exception {
        PodmanContainer peer = PODMAN.peer(HTTP);
        PodmanContainer sandbox = PODMAN.sandbox();
        Agent recorder = peer.agent();
        assertThat(recorder.send("listen tcp " + BLOCKED)).isEqualTo("OK");
        Agent probe = sandbox.agent();
        assertThat(probe.send("listen tcp " + INBOUND)).isEqualTo("OK");
        assertThat(probe.send("listen tcp " + LOCAL)).isEqualTo("OK");
        NetworkPolicy policy = Streams.allowingOnly(peer.ipv4(), HTTP + "/tcp"); // inbound off
        EnforcementResult applied = enforcer().enforce(new EnforcementRequest(sandbox.id(), "podman", sandbox.pid(),
                sandbox.sandboxKey(), policy, Clock.systemUTC().instant().plusSeconds(30)));
        assertThat(applied.status()).as("%s", applied).isEqualTo("applied");
        assertThat(applied.backend()).isEqualTo("nft");

        String ns = "--net=" + sandbox.sandboxKey();
        for (String step : new String[] {"link set lo down", "link set lo name lo0", "link set lo0 up",
                "link set eth0 down", "link set eth0 name lo", "link set lo up"}) {
            Sh.ok(("nsenter " + ns + " -- ip " + step).split(" "));
        }
        assertThat(Sh.ok("nsenter", ns, "--", "ip", "-o", "link", "show", "lo")).contains("link/ether");

        assertThat(probe.send("tcp " + peer.ipv4() + " " + HTTP + " 2000")).as("the allowed port, over the renamed eth0")
                .isEqualTo("OK");
        assertThat(probe.send("tcp " + peer.ipv4() + " " + BLOCKED + " 1500")).isNotEqualTo("OK");
        assertThat(recorder.send("seen " + BLOCKED)).isEqualTo("NONE");
        assertThat(peer.agent().send("tcp " + sandbox.ipv4() + " " + INBOUND + " 1500")).as("inbound is off")
                .isNotEqualTo("OK");
        assertThat(probe.send("seen " + INBOUND)).isEqualTo("NONE");
        assertThat(probe.send("tcp 127.0.0.1 " + LOCAL + " 2000")).as("loopback, now named lo0").isEqualTo("OK");
    }

    private DefaultEnforcer enforcer() {
        EnforcerConfig config = EnforcerConfig.custom().backend(BackendChoice.NFT).cgroupCheck(true)
                .refuseCapabilities(Set.of()).backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build();
        return new DefaultEnforcer(config, new ProcessCommandRunner(), Clock.systemUTC(), new SimpleMeterRegistry());
    }
}
