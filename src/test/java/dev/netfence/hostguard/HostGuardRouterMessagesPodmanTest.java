package dev.netfence.hostguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.netfence.testkit.HostRulesetGuard;
import dev.netfence.testkit.KernelTests;
import dev.netfence.testkit.MachineLock;
import dev.netfence.testkit.PodmanContainer;
import dev.netfence.testkit.PodmanContainers;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What only a router sends, against real podman containers. The host guard's router-advertisement
 * rule, with a container whose policy leaves
 * IPv6 egress open ({@code outbound: true}, the default blocked subnets): there the plan's own
 * rules accept the IPv6 the container sends to any destination outside those subnets, so a
 * workload holding {@code CAP_NET_RAW} could announce itself as a router (and a prefix) to a
 * neighbour, which accepts a router advertisement from a link-local source addressed to any of its
 * own addresses, and draw its IPv6 traffic. (Sent to all nodes, or to a link-local address, the
 * default blocked subnets ff00::/8 and fe80::/10 drop it already; a policy with a blocked list of
 * its own may not.) The guard's binding drops router advertisements, redirects and router
 * renumbering from a sandbox. A raw router advertisement from the container's own link-local
 * address and MAC to a global address, after its in-namespace rules were flushed, never reaches
 * the bridge with {@code --host-guard auto}; with {@code off} it does, which shows the proof can
 * fail. A neighbour advertisement for its own address, sent last, reaches the bridge both ways:
 * the guard does not pass by dropping all IPv6, and the advertisement had time to arrive.
 *
 * <p>MLD queries, a multicast router's (a snooping bridge takes the port a query came from for a
 * router's and forwards it every group's traffic): the plan accepts MLD reports from a sandbox,
 * not queries, and the guard's binding drops them where the plan leaves IPv6 egress open. A raw
 * MLDv2 general query (hop-by-hop router alert, as a querier sends it) to all nodes never reaches
 * the bridge with the guard, under a closed policy and under an open one whose blocked list does
 * not hold ff00::/8; without the guard it does. So do the other messages of a multicast router
 * ({@link #noOtherMulticastRoutersMessageFromASandboxReachesTheBridge}).
 */
@ExtendWith({MachineLock.class, KernelTests.class, HostRulesetGuard.class})
class HostGuardRouterMessagesPodmanTest extends ForgedFrameProof {
    @RegisterExtension
    static final PodmanContainers PODMAN = new PodmanContainers();


    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void aRouterAdvertisementFromASandboxWithOpenIpv6EgressNeverReachesTheBridge(HostGuardMode mode) throws Exception {
        PodmanContainer container = PODMAN.sandbox();
        BindingSandbox s = flushedSandbox(mode, container, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":false,"
                + "\"outbound\":true,\"inbound\":false}");
        String own = s.linkLocal();
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "nd");

        // a neighbour's global address (the documentation prefix: podman's bridge has none of its own)
        String advertisement = s.ra(own, "2001:db8:ffff::1");
        String control = s.na(own, own);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("neighbour discovery frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("router advertisements from %s on %s", own, s.bridge).doesNotContain(advertisement)
                    .noneMatch(f -> f.startsWith("RA "));
        } else {
            assertThat(seen).as("without the guard the router advertisement reaches the bridge").contains(advertisement);
        }
    }

    static Stream<Arguments> queries() {
        String closed = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"dns\":false,\"outbound\":false,\"inbound\":false}";
        String open = "{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[\"10.0.0.0/8\"],\"dns\":false,"
                + "\"outbound\":true,\"inbound\":false}";
        return Stream.of(HostGuardMode.AUTO, HostGuardMode.OFF).flatMap(mode -> Stream.of(
                Arguments.of("IPv6 egress closed", closed, mode), Arguments.of("IPv6 egress open", open, mode)));
    }

    @ParameterizedTest(name = "{0}, host guard {2}")
    @MethodSource("queries")
    void anMldQueryFromASandboxNeverReachesTheBridge(String name, String policy, HostGuardMode mode) throws Exception {
        PodmanContainer container = PODMAN.sandbox();
        BindingSandbox s = flushedSandbox(mode, container, policy);
        String own = s.linkLocal();
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "nd");

        String query = s.mq(own, "ff02::1");
        String control = s.na(own, own);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("neighbour discovery frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("MLD queries from %s on %s", own, s.bridge).doesNotContain(query)
                    .noneMatch(f -> f.startsWith("MQ "));
        } else {
            assertThat(seen).as("without the guard the query reaches the bridge").contains(query);
        }
    }

    /**
     * Everything else that makes a snooping bridge take a port for a multicast router's, from a
     * sandbox whose policy leaves both families' egress open with a blocked list without the
     * multicast ranges: an MLD query behind an authentication header (the bridge's snooping looks
     * past it, nft's transport match stops at it), a multicast router advertisement, an IGMP
     * general query and a PIM hello.
     */
    @ParameterizedTest(name = "host guard {0}")
    @EnumSource(value = HostGuardMode.class, names = {"AUTO", "OFF"})
    void noOtherMulticastRoutersMessageFromASandboxReachesTheBridge(HostGuardMode mode) throws Exception {
        PodmanContainer container = PODMAN.sandbox();
        BindingSandbox s = flushedSandbox(mode, container, "{\"schemaVersion\":1,\"mode\":\"bridge\",\"blockedSubnets\":[\"10.0.0.0/8\"],"
                + "\"dns\":false,\"outbound\":true,\"inbound\":false}");
        String own = s.linkLocal();
        tap = new ForgedFrames.Tap(scripts.listener(), s.bridge, "mcast");

        List<String> sent = new java.util.ArrayList<>(s.multicastRouterMessages(own));
        sent.add(s.mq(own, "ff02::1", true));
        String control = s.na(own, own);
        List<String> seen = tap.framesAfter(control);
        s.assertGuardedOnlyAs(mode);

        assertThat(seen).as("frames on %s", s.bridge).contains(control);
        if (mode == HostGuardMode.AUTO) {
            assertThat(seen).as("multicast routers' messages from the sandbox on %s", s.bridge).doesNotContainAnyElementsOf(sent)
                    .noneMatch(f -> f.startsWith("MQ ") || f.startsWith("MRD ") || f.startsWith("PIM ")
                            || f.startsWith("IGMP " + container.ipv4() + " 17 "));
        } else {
            assertThat(seen).as("without the guard they reach the bridge").containsAll(sent);
        }
    }
}
