package dev.netfence.enforce;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Sh;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link LoopbackReplyKernelTest}'s IPv4 way in, in a real podman container (netavark bridge, the
 * cgroup check on, the default backend): the workload (uid 65534, no capabilities) sends one
 * datagram through {@code lo} to its bridge's broadcast address, which the loopback accept passes
 * and connection tracking files with that broadcast address as the reply's source; a neighbour
 * container on the bridge then forges datagrams from that address to the workload. Before the
 * apply they arrive; after it, none, inbound off. The container's {@code rp_filter} is set off, as
 * a container's is on a host that has it off (a strict filter refuses a broadcast source by
 * itself). The IPv6 anycast form needs a global IPv6 prefix, which podman's default bridge does
 * not give: {@link LoopbackReplyKernelTest} proves it.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class LoopbackReplyPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    @Test
    void aNeighbourContainerCannotStreamIntoThePodmanSandboxAsTheReplyOfABroadcastItsWorkloadSentThroughLoopback()
            throws Exception {
        PodmanContainer neighbour = PODMAN.peer(8080);
        PodmanContainer sandbox = PODMAN.sandbox();
        List<String> intoSandbox = List.of("nsenter", "-t", String.valueOf(sandbox.pid()), "-n");
        List<String> intoNeighbour = List.of("nsenter", "-t", String.valueOf(neighbour.pid()), "-n");
        for (String key : List.of("all", "default", "eth0")) {
            Sh.ok("nsenter", "-t", String.valueOf(sandbox.pid()), "-n", "sysctl", "-qw",
                    "net.ipv4.conf." + key + ".rp_filter=0");
        }
        String broadcast = broadcastOf(sandbox);
        assertThat(LoopbackReplyKernelTest.repliesTo(intoSandbox, intoNeighbour, "4", broadcast, "lo", sandbox.ipv4()))
                .as("the probe works without rules").contains("GOT from-forbidden-0 " + broadcast);

        EnforcementResult applied = SandboxEnforcement.enforce(sandbox, "{\"schemaVersion\":1,\"mode\":\"bridge\","
                + "\"allowedEndpoints\":[\"" + neighbour.ipv4() + ":8080\"],\"dns\":false,\"outbound\":false,"
                + "\"inbound\":false}");
        assertThat(applied.status()).as("%s", applied).isEqualTo("applied");

        assertThat(LoopbackReplyKernelTest.repliesTo(intoSandbox, intoNeighbour, "4", broadcast, "lo", sandbox.ipv4()))
                .as("what the neighbour sent from the broadcast address").doesNotContain("GOT");
        assertThat(ForeignSourceKernelTest.ownLoopbackWorks(intoSandbox, "4", "127.0.0.1")).isEqualTo("OK");
        assertThat(ForeignSourceKernelTest.ownLoopbackWorks(intoSandbox, "4", sandbox.ipv4())).isEqualTo("OK");
        assertThat(sandbox.agent().send("tcp " + neighbour.ipv4() + " 8080 2000")).as("what the policy allows")
                .isEqualTo("OK");
    }

    /** The broadcast address of the container's {@code eth0} subnet, from its local routing table. */
    private static String broadcastOf(PodmanContainer container) {
        String local = Sh.ok("nsenter", "-t", String.valueOf(container.pid()), "-n", "ip", "-4", "route", "show",
                "table", "local", "type", "broadcast", "dev", "eth0");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("broadcast (\\S+) ").matcher(local);
        assertThat(m.find()).as("a broadcast route on the container's eth0: %s", local).isTrue();
        return m.group(1);
    }
}
