package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.Agent;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Traffic a podman container's namespace forwards (podman's containers forward IPv4): a workload
 * that held CAP_NET_ADMIN before the apply routed a namespace of its own through the container's
 * and masqueraded it on {@code eth0} (done here from the test, as that workload would have), then
 * dropped the capability, so its outcome lists no risk. Before netfence's forward chain this
 * reached the forbidden peer port without the host guard (and was held to the policy only by it):
 * now nothing the container's namespace forwards goes anywhere, with the host guard or without,
 * while the container's own allowed connection answers. ForwardingKernelTest proves the same for
 * both backends and families in namespaces of the test's own.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardForwardingPodmanTest {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();

    private static final int ALLOWED = 8080;
    private static final int FORBIDDEN = 8081;
    private static final String PROBE = "import socket, sys\n"
            + "try:\n"
            + "    socket.create_connection((sys.argv[1], int(sys.argv[2])), 1.5).close(); print('OK')\n"
            + "except socket.timeout:\n"
            + "    print('TIMEOUT')\n"
            + "except OSError as e:\n"
            + "    print('FAILED', e)\n";

    static PodmanContainer peer;
    private GuardedEnforcer enforcer;
    private String routed;

    @BeforeAll
    static void startPeer() throws java.io.IOException {
        peer = PODMAN.peer(ALLOWED);
        Agent agent = peer.agent();
        assertThat(agent.send("listen tcp " + FORBIDDEN)).startsWith("OK");
    }

    @AfterEach
    void removeTheRoutedNamespaceAndGuards() {
        if (routed != null) {
            Sh.run("ip", "netns", "delete", routed); // its veth end goes with it, and the container's with that
        }
        if (enforcer != null) {
            enforcer.close();
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aNamespaceRoutedThroughTheContainersReachesNothingWithOrWithoutTheHostGuard(HostGuardMode mode) {
        PodmanContainer sandbox = PODMAN.sandbox();
        String id = HexFormat.of().formatHex(new SecureRandom().generateSeed(4));
        routed = "nfw-" + id;
        String pid = Integer.toString(sandbox.pid());
        Sh.ok("ip", "netns", "add", routed);
        Sh.ok("ip", "link", "add", "nfwa" + id, "type", "veth", "peer", "name", "nfwb" + id);
        Sh.ok("ip", "link", "set", "nfwa" + id, "netns", "/proc/" + pid + "/ns/net");
        Sh.ok("ip", "link", "set", "nfwb" + id, "netns", routed);
        // the workload's part, while it held CAP_NET_ADMIN: an address, a masquerade of its own
        Sh.ok("nsenter", "-t", pid, "-n", "ip", "addr", "add", "198.18.99.1/30", "dev", "nfwa" + id);
        Sh.ok("nsenter", "-t", pid, "-n", "ip", "link", "set", "nfwa" + id, "up");
        Sh.ok("nsenter", "-t", pid, "-n", "nft", "add table ip wl; add chain ip wl post { type nat hook postrouting"
                + " priority 100; }; add rule ip wl post oifname eth0 masquerade");
        Sh.ok("ip", "-n", routed, "addr", "add", "198.18.99.2/30", "dev", "nfwb" + id);
        Sh.ok("ip", "-n", routed, "link", "set", "nfwb" + id, "up");
        Sh.ok("ip", "-n", routed, "route", "add", "default", "via", "198.18.99.1");

        enforcer = GuardedEnforcer.create(mode);
        String policy = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + peer.ipv4() + ":" + ALLOWED
                + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}";
        var result = enforcer.apply(sandbox, policy);
        assertThat(result.risks()).as("the capability was dropped before the apply (the test holds it here)").isEmpty();
        assertThat(probeFromContainer(pid, ALLOWED)).as("the container's own allowed connection").isEqualTo("OK");
        assertThat(probeFromContainer(pid, FORBIDDEN)).as("the container's own forbidden one").isNotEqualTo("OK");
        if (mode == HostGuardMode.AUTO) {
            // the outcome says ["netns"] here (the namespace holds a veth whose peer is in a namespace of the
            // workload's, not on the host), yet the container's host-side veth has its chain
            assertThat(Sh.ok("nft", "list", "table", "netdev", "netfence")).as("the container's host guard")
                    .contains("netfence container=" + sandbox.id() + " ");
        }

        assertThat(probeFromRouted(FORBIDDEN)).as("forbidden port, forwarded").isEqualTo("TIMEOUT");
        assertThat(probeFromRouted(ALLOWED)).as("allowed port, forwarded: a sandbox routes nothing").isEqualTo("TIMEOUT");
    }

    private String probeFromRouted(int port) {
        return Sh.ok("ip", "netns", "exec", routed, Python.EXE, "-c", PROBE, peer.ipv4(), Integer.toString(port)).trim();
    }

    private String probeFromContainer(String pid, int port) {
        return Sh.ok("nsenter", "-t", pid, "-n", Python.EXE, "-c", PROBE, peer.ipv4(), Integer.toString(port)).trim();
    }
}
