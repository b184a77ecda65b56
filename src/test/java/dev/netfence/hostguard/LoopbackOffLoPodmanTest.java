package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import dev.netfence.testkit.Python;
import dev.netfence.testkit.Sh;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * IPv4 loopback sent out of a real podman container's {@code eth0} (review 51a #2), with the host
 * guard off, so that the container's own rules are all that stands in the way: the test, as the
 * workload (uid 65534, no capabilities, in the container's network namespace), binds a UDP socket
 * to {@code eth0} ({@code SO_BINDTODEVICE}) and sends to 127.0.0.1, which the route lookup sends to
 * the gateway, the host, whose bridge receives it (a host with {@code route_localnet} on, as
 * kube-proxy sets it, would hand it to its loopback services; this host does not, and the test does
 * not change it: what is proven is that the frame never reaches the bridge). Without rules it
 * does; under an applied policy with {@code outbound} on (the default blocked list, which leaves
 * 127.0.0.0/8 out) it does not, while a datagram to the endpoint the policy allows, sent last,
 * arrives both times.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class LoopbackOffLoPodmanTest extends ForgedFrameProof {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();
    /** A port nothing on the host listens on: the datagrams end as port-unreachable at most. */
    private static final int PORT = 9;
    private static final String SEND = """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, 25, b"eth0")  # SO_BINDTODEVICE: no capability for a first device
            for i in range(3):
                try:
                    s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
                except OSError:
                    pass
            """;

    @Test
    void anUnprivilegedDatagramTo127BoundToEth0NeverLeavesTheContainerWithoutTheHostGuardEither() throws Exception {
        PodmanContainer container = PODMAN.sandbox();
        BindingSandbox s = new BindingSandbox(container, null, 0);
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "udp");
        String before = send(container, "127.0.0.1", "lo-before-" + ForgedFrames.randomMac());
        String firstControl = send(container, container.gateway(), "gw-before-" + ForgedFrames.randomMac());
        assertThat(tap.framesAfter(firstControl)).as("without rules the datagram to 127.0.0.1 reaches %s", s.bridge)
                .contains(before, firstControl);
        tap.close();

        applyAs(HostGuardMode.OFF, container, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"allowedEndpoints\":[\""
                + container.gateway() + ":" + PORT + "/udp\"],\"dns\":false,\"outbound\":true,\"inbound\":false}");
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "udp");
        String after = send(container, "127.0.0.1", "lo-after-" + ForgedFrames.randomMac());
        String other = send(container, "127.1.2.3", "lo-other-" + ForgedFrames.randomMac());
        String control = send(container, container.gateway(), "gw-after-" + ForgedFrames.randomMac());
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(HostGuardMode.OFF);

        assertThat(seen).as("UDP datagrams on %s", s.bridge).contains(control).doesNotContain(after, other)
                .noneMatch(f -> f.split(" ")[2].startsWith("127."));
    }

    /** The workload's datagrams to {@code dst}; the line {@link ForgedFrames.Tap} prints for one. */
    private static String send(PodmanContainer container, String dst, String payload) {
        Sh.ok("nsenter", "-t", Integer.toString(container.pid()), "-n", "setpriv", "--reuid=65534", "--regid=65534",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", Python.EXE, "-c", SEND, dst,
                Integer.toString(PORT), payload);
        return "UDP " + container.ipv4() + " " + dst + " " + PORT + " " + payload;
    }
}
