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
 * Loopback destinations on the host side, against a real podman container whose policy leaves
 * IPv4 egress open (a blocked list of its own, without 127.0.0.0/8, as an operator may write):
 * inside its namespace a datagram to 127.0.0.1 goes to its own {@code lo}, but one written raw
 * onto eth0, after the workload flushed its in-namespace rules, reaches the host, which delivers it
 * to its own local services where it routes loopback destinations from other interfaces
 * ({@code route_localnet=1}, as kube-proxy sets it; this host does not, and the test does not
 * change it: what is proven is that the frame never reaches the bridge). With
 * {@code --host-guard auto} it never does; with {@code off} it does, which shows the proof can
 * fail. A datagram to the gateway's address, which the policy allows, sent last, arrives both ways.
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardLoopbackPodmanTest extends ForgedFrameProof {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();
    private static final String POLICY = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[\"192.0.2.0/24\"],"
            + "\"dns\":false,\"outbound\":true,\"inbound\":false}";
    /** A port nothing on the host listens on: the datagrams end as port-unreachable at most. */
    private static final int PORT = 9;


    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aDatagramToALoopbackAddressWrittenOntoEth0NeverReachesTheBridge(HostGuardMode mode) throws Exception {
        PodmanContainer container = PODMAN.sandbox();
        BindingSandbox s = flushedSandbox(mode, container, POLICY);
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "udp");

        String loopback = s.udpTo("127.0.0.1", PORT, "lo-" + ForgedFrames.randomMac());
        String otherLoopback = s.udpTo("127.1.2.3", PORT, "lo-" + ForgedFrames.randomMac());
        String control = s.udpTo(container.gateway(), PORT, "gw-" + ForgedFrames.randomMac());
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("UDP datagrams on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("datagrams to 127.0.0.0/8 on %s", s.bridge).doesNotContain(loopback, otherLoopback)
                    .noneMatch(f -> f.split(" ")[2].startsWith("127."));
        } else {
            assertThat(seen).as("without the guard they reach the bridge").contains(loopback, otherLoopback);
        }
    }

    /**
     * The same loopback destination as the last hop of a source route through the gateway's
     * address, which the policy allows (a host with {@code accept_source_route} on delivers it
     * there, or forwards it wherever the route says): the guard judges the header's destination
     * only, so it drops every source-routed datagram.
     */
    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aSourceRoutedDatagramNeverReachesTheBridge(HostGuardMode mode) throws Exception {
        PodmanContainer container = PODMAN.sandbox();
        BindingSandbox s = flushedSandbox(mode, container, POLICY);
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "udp");

        String loose = s.udpTo(container.gateway(), PORT, "lsrr-" + ForgedFrames.randomMac(), "lsrr:127.0.0.1");
        String strict = s.udpTo(container.gateway(), PORT, "ssrr-" + ForgedFrames.randomMac(), "ssrr:127.0.0.1");
        // behind an unknown option, from a sender without CAP_NET_RAW: nft's option match took that option for
        // an error and "lsrr exists" was false, while a receiver skips it and follows the route
        String hidden = s.udpTo(container.gateway(), PORT, "hidden-" + ForgedFrames.randomMac(), "hidden-lsrr:127.0.0.1");
        String control = s.udpTo(container.gateway(), PORT, "gw-" + ForgedFrames.randomMac());
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("UDP datagrams on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("source-routed datagrams on %s", s.bridge).doesNotContain(loose, strict, hidden);
        } else {
            assertThat(seen).as("without the guard they reach the bridge").contains(loose, strict, hidden);
        }
    }

    /** As {@link #aSourceRoutedDatagramNeverReachesTheBridge} for IPv6: a segment routing header (a host with seg6_enabled follows it). */
    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aSegmentRoutedDatagramNeverReachesTheBridge(HostGuardMode mode) throws Exception {
        PodmanContainer container = PODMAN.sandbox();
        BindingSandbox s = flushedSandbox(mode, container, POLICY);
        String own = s.linkLocal();
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "mcast");

        // to a global address the policy allows (the documentation prefix), its last segment the host's loopback
        String routed = s.segmentRouted(own, "2001:db8:ffff::1", "::1", "srh-" + ForgedFrames.randomMac());
        // the same behind a routing header with no segment left, which a host skips to follow the next
        // one (the guard used to look at the first routing header only: segments left 0, passed)
        String behind = s.segmentRoutedBehindASpentHeader(own, "2001:db8:ffff::1", "::1",
                "srh2-" + ForgedFrames.randomMac());
        String control = s.na(own, own);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("segment-routed datagrams on %s", s.bridge).doesNotContain(routed, behind);
        } else {
            assertThat(seen).as("without the guard they reach the bridge").contains(routed, behind);
        }
    }
}
