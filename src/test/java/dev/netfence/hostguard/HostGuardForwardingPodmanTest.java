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
 * Traffic another namespace of the workload's sends through a podman container's, set up while the
 * workload held CAP_NET_ADMIN (done here from the test, as that workload would have) and kept after
 * it dropped the capability, so its outcome lists no risk. Routed (podman's containers forward
 * IPv4; a veth and a masquerade on {@code eth0}): before netfence's forward chain this reached the
 * forbidden peer port without the host guard; now nothing the container's namespace forwards goes
 * anywhere, with the host guard or without (ForwardingKernelTest proves it for both backends and
 * families). Bridged at layer 2 (a macvlan of {@code eth0} moved into that namespace): its frames
 * are handed to {@code eth0} past every IP hook of the container's namespace, so without the host
 * guard they reach the forbidden port under an {@code applied} outcome (README "What it does not
 * protect against"); the host guard drops them, their source MAC not being the container's. Each
 * test first shows the other namespace reaching the peer before any rule.
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
    /** The workload's other namespace. */
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
            Sh.run("ip", "netns", "delete", routed); // its veth end or macvlan goes with it (a veth's peer too)
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
        assertThat(probeFromRouted(FORBIDDEN)).as("the routed namespace reaches the peer before any rule").isEqualTo("OK");

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

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aMacvlanOfTheContainersEth0InANamespaceOfItsOwnIsHeldOnlyByTheHostGuard(HostGuardMode mode) {
        PodmanContainer sandbox = PODMAN.sandbox();
        byte[] random = new SecureRandom().generateSeed(4);
        String id = HexFormat.of().formatHex(random);
        routed = "nfm-" + id;
        String pid = Integer.toString(sandbox.pid());
        Sh.ok("ip", "netns", "add", routed);
        // the workload's part, while it held CAP_NET_ADMIN: a macvlan of eth0, moved out, an address on the bridge
        Sh.ok("nsenter", "-t", pid, "-n", "ip", "link", "add", "nfm" + id, "link", "eth0", "type", "macvlan", "mode", "bridge");
        Sh.ok("nsenter", "-t", pid, "-n", "ip", "link", "set", "nfm" + id, "netns", "/run/netns/" + routed);
        String address = "10.88.250." + (2 + Byte.toUnsignedInt(random[0]) % 250);
        Sh.ok("ip", "-n", routed, "addr", "add", address + "/16", "dev", "nfm" + id);
        Sh.ok("ip", "-n", routed, "link", "set", "nfm" + id, "up");
        assertThat(probeFromRouted(FORBIDDEN)).as("the macvlan reaches the peer before any rule").isEqualTo("OK");

        enforcer = GuardedEnforcer.create(mode);
        var result = enforcer.apply(sandbox, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + peer.ipv4()
                + ":" + ALLOWED + "\"],\"dns\":false,\"outbound\":false,\"inbound\":false}");
        assertThat(result.risks()).as("the capability was dropped before the apply (the test holds it here)").isEmpty();
        assertThat(probeFromContainer(pid, ALLOWED)).as("the container's own allowed connection").isEqualTo("OK");
        assertThat(probeFromContainer(pid, FORBIDDEN)).as("the container's own forbidden one").isNotEqualTo("OK");

        if (mode == HostGuardMode.AUTO) {
            assertThat(probeFromRouted(FORBIDDEN)).as("forbidden port, from the macvlan, at the guard").isEqualTo("TIMEOUT");
            assertThat(probeFromRouted(ALLOWED)).as("not the container's source MAC: nothing passes").isEqualTo("TIMEOUT");
        } else {
            assertThat(probeFromRouted(FORBIDDEN)).as("without the guard, a macvlan's frames meet no rule of netfence's")
                    .isEqualTo("OK");
        }
    }

    private String probeFromRouted(int port) {
        return Sh.ok("ip", "netns", "exec", routed, Python.EXE, "-c", PROBE, peer.ipv4(), Integer.toString(port)).trim();
    }

    private String probeFromContainer(String pid, int port) {
        return Sh.ok("nsenter", "-t", pid, "-n", Python.EXE, "-c", PROBE, peer.ipv4(), Integer.toString(port)).trim();
    }
}
