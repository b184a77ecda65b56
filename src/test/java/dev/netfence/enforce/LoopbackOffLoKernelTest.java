package dev.netfence.enforce;

import static dev.netfence.enforce.SandboxEnforcement.policy;
import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.core.EnforcementResult;
import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.SandboxNet;
import dev.netfence.testkit.SandboxNetExtension;
import dev.netfence.testkit.Sh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * IPv4 loopback sent out of the container's interface (review 51a #2): a workload without any
 * capability binds a UDP socket to {@code eth0} ({@code SO_BINDTODEVICE}, allowed unprivileged
 * for a socket's first device) and sends to 127.0.0.1; the route lookup skips the local 127/8
 * routes (their device is {@code lo}) and sends the datagram to the next hop, and a next hop with
 * {@code route_localnet} on (kube-proxy in iptables mode sets it on nodes) delivers it to its own
 * loopback services. Before every plan rejected 127.0.0.0/8 after its endpoints, the peer here
 * (route_localnet on, a wildcard UDP receiver) got the datagram through an applied policy with
 * {@code outbound} on and the default blocked list, for both backends; the workload's own loopback
 * traffic, which goes through {@code lo}, must keep working.
 */
@ExtendWith({KernelTests.class, HostRulesetGuard.class})
@ParameterizedClass(name = "backend {0}")
@ValueSource(strings = {"iptables-nft", "nft"})
class LoopbackOffLoKernelTest {
    static final String SEND = """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, 25, b"eth0")  # SO_BINDTODEVICE: no capability for a first device
            for i in range(3):
                try:
                    s.sendto(b"loopback", ("127.0.0.1", int(sys.argv[1])))
                    print("SENT")
                except OSError as e:
                    print("REFUSED", e.errno)
            """;

    @Parameter
    String backend;

    @RegisterExtension
    static final SandboxNetExtension SANDBOX = SandboxNetExtension.withPeerListening();

    @TempDir
    Path dir;

    @BeforeAll
    static void aNodeWithRouteLocalnetBehindADefaultRoute() {
        SandboxNet net = SANDBOX.net();
        Sh.ok("ip", "-n", net.containerNs(), "route", "replace", "default", "via", net.peerV4(), "dev", "eth0");
        for (String conf : List.of("all", "eth0")) {
            Sh.ok("ip", "netns", "exec", net.peerNs(), "sysctl", "-qw", "net.ipv4.conf." + conf + ".route_localnet=1");
        }
    }

    @BeforeEach
    void resetRules() {
        SANDBOX.net().resetRules();
    }

    @Test
    void aDatagramTo127SentOutOfEth0NeverReachesTheNextHopsLoopbackAndTheWorkloadsOwnLoopbackStillWorks()
            throws Exception {
        Path control = dir.resolve("seen-without-rules");
        try (ForeignSourceKernelTest.Receiver receiver = ForeignSourceKernelTest.Receiver.start(peer(), "4", control)) {
            assertThat(send()).as("the probe sends without rules").contains("SENT");
        }
        assertThat(Files.readString(control)).as("the probe reaches the peer's loopback without rules")
                .contains(SANDBOX.net().containerV4() + " loopback");

        EnforcementResult r = SandboxEnforcement.enforce(SANDBOX.net(), backend, policy("{\"schemaVersion\":1,"
                + "\"mode\":\"bridge\",\"allowedEndpoints\":[\"" + SANDBOX.net().peerV4() + ":8023\"],\"dns\":false,"
                + "\"outbound\":true,\"inbound\":false}"), List.of(), Map.of());
        assertThat(r.status()).as("%s", r).isEqualTo("applied");

        Path seen = dir.resolve("seen");
        try (ForeignSourceKernelTest.Receiver receiver = ForeignSourceKernelTest.Receiver.start(peer(), "4", seen)) {
            send();
        }
        assertThat(seen).as("the peer's loopback saw nothing from the workload").doesNotExist();
        assertThat(ForeignSourceKernelTest.ownLoopbackWorks(SANDBOX.net().containerNs(), "4", "127.0.0.1")).isEqualTo("OK");
        assertThat(ForeignSourceKernelTest.ownLoopbackWorks(SANDBOX.net().containerNs(), "4", "127.0.0.53")).isEqualTo("OK");
    }

    /** The probe as uid 65534 without capabilities, in the container's namespace, to the receiver's port. */
    private static String send() {
        return Sh.run("ip", "netns", "exec", SANDBOX.net().containerNs(), "setpriv", "--reuid=65534", "--regid=65534",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", ForeignSourceKernelTest.PYTHON, "-c", SEND,
                String.valueOf(ForeignSourceKernelTest.FORBIDDEN_PORT)).stdout();
    }

    private static List<String> peer() {
        return List.of("ip", "netns", "exec", SANDBOX.net().peerNs());
    }
}
