package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import java.util.List;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A subnet's broadcast on the host side, against a real podman container whose policy blocks only
 * the bridge's gateway, outbound open: after the workload flushed its in-namespace rules (as
 * CAP_NET_ADMIN allows), it writes raw (as CAP_NET_RAW allows) a datagram to the bridge subnet's
 * broadcast 10.88.255.255 in a frame to the gateway's MAC, which the gateway takes as a broadcast
 * whatever part of the subnet the policy names (review 53b #1: the broadcast-MAC drop alone let it
 * through), and, as the link-wide rejects every plan has, one to 255.255.255.255 and one to the
 * all-hosts group 224.0.0.1 in frames to the same MAC. With {@code --host-guard auto} none reaches
 * the bridge; with {@code off} they do, which shows the proof can fail. A datagram to another address of the subnet, which the policy
 * allows, sent last, arrives both ways. Likewise, under a policy with inbound open (whose host
 * guard passes TCP segments with ACK set, the replies of accepted connections), ACK segments to
 * the limited broadcast, a group, and a unicast address in a frame to the broadcast MAC (review
 * 54a #4), and to the bridge subnet's broadcast in a frame to the host's MAC, which a host with
 * {@code bc_forwarding} sends to every port (review 56 #2): none reaches the bridge. One to an
 * unused address in a frame to the host's MAC, which the guard passes (the residual the README
 * names), arrives both ways. (The guard's fragment condition is proven in
 * {@link GuardFragmentsKernelTest}: a host whose bridge calls iptables, as podman's does here,
 * reassembles IPv4 fragments before the bridge passes them on, so a later fragment alone never
 * arrives here, guarded or not.)
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardBroadcastPodmanTest extends ForgedFrameProof {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();
    /** A port nothing on the host listens on: the datagrams end as port-unreachable at most. */
    private static final int PORT = 9;

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void theSubnetsBroadcastTheLimitedBroadcastAndAGroupInFramesToTheGatewaysMacNeverReachTheBridge(HostGuardMode mode)
            throws Exception {
        PodmanContainer container = PODMAN.sandbox();
        BindingSandbox s = flushedSandbox(mode, container, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[\""
                + container.gateway() + "/32\"],\"dns\":false,\"outbound\":true,\"inbound\":false}");
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "udp");

        String broadcast = s.udpTo("10.88.255.255", PORT, "bc-" + ForgedFrames.randomMac());
        String limited = s.udpTo("255.255.255.255", PORT, "lbc-" + ForgedFrames.randomMac());
        String group = s.udpTo("224.0.0.1", PORT, "mc-" + ForgedFrames.randomMac());
        String control = s.udpTo("10.88.255.254", PORT, "peer-" + ForgedFrames.randomMac());
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("UDP datagrams on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("datagrams to the subnet's broadcast, the limited broadcast and a group on %s", s.bridge)
                    .doesNotContain(broadcast, limited, group);
        } else {
            assertThat(seen).as("without the guard they reach the bridge").contains(broadcast, limited, group);
        }
    }

    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void withInboundOpenAckSegmentsGoNeitherToBroadcastOrMulticastDestinationsNorInFramesToTheBroadcastMac(HostGuardMode mode)
            throws Exception {
        PodmanContainer container = PODMAN.sandbox();
        BindingSandbox s = flushedSandbox(mode, container,
                "{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":false,\"outbound\":false,\"inbound\":true}");
        if (mode == HostGuardMode.AUTO) {
            assertThat(s.chain()).as("the guard's ACK accept").contains(GuardEgress.ackAccept(dev.netfence.policy.Family.IPV4));
        }
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "udp");
        String neighbour = s.unusedAddress();

        String limited = s.tcpAckTo(s.hostSideMac, "255.255.255.255", PORT, "lbc-" + ForgedFrames.randomMac());
        String group = s.tcpAckTo(s.hostSideMac, "224.0.0.1", PORT, "mc-" + ForgedFrames.randomMac());
        String flooded = s.tcpAckTo("ff:ff:ff:ff:ff:ff", neighbour, PORT, "flood-" + ForgedFrames.randomMac());
        String subnet = s.tcpAckTo(s.hostSideMac, "10.88.255.255", PORT, "bc-" + ForgedFrames.randomMac());
        String control = s.tcpAckTo(s.hostSideMac, neighbour, PORT, "peer-" + ForgedFrames.randomMac());
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("TCP segments on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("ACK segments to the limited broadcast, a group, the broadcast MAC and the subnet's broadcast"
                    + " on %s", s.bridge).doesNotContain(limited, group, flooded, subnet);
        } else {
            assertThat(seen).as("without the guard they reach the bridge").contains(limited, group, flooded, subnet);
        }
    }
}
